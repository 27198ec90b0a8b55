import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { ErrorCodes, OptimizerError } from "@mcp-optimizer/core";
import {
  type AuthInfo,
  OAuthError,
  OAuthErrorCode,
  type OAuthTokenVerifier,
} from "@modelcontextprotocol/server";
import * as z from "zod";
import { type ApiKeyEntry, ApiKeyEntrySchema } from "../config/gateway-config-schema.js";
import { withIdentity } from "./identity.js";

/** API keys look like mcpo_<id>_<secret>: the id finds the entry, the digest of the whole key is compared. */
const KEY_FORMAT = /^mcpo_([a-z0-9][a-z0-9-]{0,63})_([A-Za-z0-9_-]{32,})$/;

export interface ApiKeyVerifierOptions {
  /** Keys from the config. Default none. */
  keys?: ApiKeyEntry[];
  /** A JSON file `{ "keys": [...] }` re-read when its modification time or size changes. Default none. */
  file?: string;
  /** How often the file's change time is looked at, at most, in ms. Default 1000. */
  checkEveryMs?: number;
  /** Hears that a changed file could not be used (the previous keys stay). Default: stderr. */
  log?: (line: string) => void;
}

/** Whether a bearer token is shaped like one of our API keys (else it is taken for a JWT). */
export function isApiKey(token: string): boolean {
  return token.startsWith("mcpo_");
}

/** A new key and its entry for the keys file: the key is shown once, only its digest is stored. */
export function generateApiKey(
  id: string,
  tenant: string,
  principal?: string,
): { key: string; entry: ApiKeyEntry } {
  const key = `mcpo_${id}_${randomBytes(32).toString("base64url")}`;
  const entry = ApiKeyEntrySchema.parse({
    id,
    tenant,
    ...(principal ? { principal } : {}),
    sha256: digest(key).toString("hex"),
  });
  return { key, entry };
}

const KeysFileSchema = z.strictObject({ keys: z.array(ApiKeyEntrySchema) });

/**
 * Static API keys, stored hashed (SHA-256), compared in constant time. Several keys may name
 * one tenant and principal, so a key is rotated by adding the new one to the file, moving
 * clients over, and removing the old one: the file is re-read when it changes, no restart.
 * A file that stops parsing keeps the last good keys (and says so once on stderr).
 */
export function createApiKeyVerifier(
  options: ApiKeyVerifierOptions,
  isTenant: (name: string) => boolean,
): OAuthTokenVerifier & { reload(): void } {
  const checkEveryMs = options.checkEveryMs ?? 1000;
  let fileKeys: ApiKeyEntry[] = [];
  let seen = "";
  let checkedAt = 0;
  let byId = new Map<string, ApiKeyEntry[]>();

  const rebuild = () => {
    const next = new Map<string, ApiKeyEntry[]>();
    for (const entry of [...(options.keys ?? []), ...fileKeys]) {
      next.set(entry.id, [...(next.get(entry.id) ?? []), entry]);
    }
    byId = next;
  };
  const readFile = (force: boolean) => {
    if (!options.file) return;
    const now = Date.now();
    if (!force && now - checkedAt < checkEveryMs) return;
    checkedAt = now;
    let stamp: string;
    try {
      const s = statSync(options.file);
      stamp = `${s.mtimeMs}:${s.size}:${s.ino}`;
    } catch (error) {
      if (force) throw keysFileError(options.file, error);
      return;
    }
    if (stamp === seen) return;
    try {
      const parsed = KeysFileSchema.parse(JSON.parse(readFileSync(options.file, "utf8")));
      const unknown = parsed.keys.find((k) => !isTenant(k.tenant));
      if (unknown)
        throw new Error(`key "${unknown.id}" names the unknown tenant "${unknown.tenant}"`);
      fileKeys = parsed.keys;
      seen = stamp;
      rebuild();
    } catch (error) {
      if (force) throw keysFileError(options.file, error);
      seen = stamp; // said once; the next change is read again
      (options.log ?? ((line: string) => process.stderr.write(`${line}\n`)))(
        `mcp-optimizer-gateway: ${options.file}: ${(error as Error).message}; keeping the previous keys`,
      );
    }
  };
  readFile(true);
  rebuild();

  return {
    reload: () => readFile(true),
    async verifyAccessToken(token: string): Promise<AuthInfo> {
      readFile(false);
      const match = KEY_FORMAT.exec(token);
      const given = digest(token);
      const entry = match
        ? byId.get(match[1]!)?.find((e) => timingSafeEqual(Buffer.from(e.sha256, "hex"), given))
        : undefined;
      if (!entry) throw new OAuthError(OAuthErrorCode.InvalidToken, "Unknown or revoked API key.");
      const principal = entry.principal ?? entry.id;
      return withIdentity(
        {
          token,
          clientId: `api-key:${entry.id}`,
          scopes: [],
          // A key does not expire; the SDK's check wants a time: an hour from now.
          expiresAt: Math.floor(Date.now() / 1000) + 3600,
        },
        { tenant: entry.tenant, principal, via: "api-key" },
      );
    },
  };
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}

function keysFileError(file: string, error: unknown): OptimizerError {
  return new OptimizerError(
    ErrorCodes.INVALID_CONFIG,
    `auth.apiKeys.file ${file}: ${(error as Error).message}.`,
    { details: { file } },
  );
}
