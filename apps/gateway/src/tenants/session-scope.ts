import { createHash } from "node:crypto";
import { ErrorCodes, OptimizerError, type SessionScope } from "@mcp-optimizer/core";

/** What a client may name a session: the engine's id characters, shorter (the scope takes the rest). */
const CLIENT_ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}$/;

/**
 * Sessions of one tenant and principal: stored as `<tenant>:<digest of principal>:<id>`, so the
 * same name under another tenant or principal is another session, and none can be reached
 * from outside its scope. The principal is digested: ids carry no user name and fit the
 * store's id rules whatever the identity provider's subjects look like.
 */
export function createSessionScope(
  tenant: string,
  principal: string,
): SessionScope & { prefix: string } {
  const digest = createHash("sha256")
    .update(`${tenant}\u0000${principal}`)
    .digest("base64url")
    .slice(0, 16);
  const prefix = `${tenant}:${digest}:`;
  return {
    tenant,
    // Context is the principal's own: keys shared by its sessions, no one else's (ADR 0025).
    principal,
    prefix,
    toStored(clientId: string): string {
      if (!CLIENT_ID.test(clientId)) {
        throw new OptimizerError(
          ErrorCodes.INVALID_INPUT,
          `A session id is 1-64 characters of letters, digits and . _ : @ -, starting with a letter or digit; got ${JSON.stringify(clientId.slice(0, 80))}.`,
        );
      }
      return `${prefix}${clientId}`;
    },
    toClient(storedId: string): string {
      return storedId.startsWith(prefix) ? storedId.slice(prefix.length) : storedId;
    },
  };
}
