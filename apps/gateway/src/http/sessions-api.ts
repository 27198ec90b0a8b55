import type { IncomingMessage, ServerResponse } from "node:http";
import { isOptimizerError, type SessionStore } from "@mcp-optimizer/core";
import type { GatewayIdentity } from "../auth/identity.js";
import { createSessionScope } from "../tenants/session-scope.js";
import type { TenantRuntimes } from "../tenants/tenant-runtimes.js";
import { sendJson } from "./http-io.js";

/** The prefix of the sessions API. */
export const SESSIONS_PATH = "/sessions";

/**
 * A principal's own sessions, by the ids it knows them by: `GET /sessions` lists them,
 * `GET /sessions/<id>` reads one (state, counters), `DELETE /sessions/<id>` deletes it. Only
 * the caller's scope (tenant and principal) is reachable: any other id is "not found".
 */
export function createSessionsApi(options: { sessions: SessionStore; tenants: TenantRuntimes }) {
  return async (
    req: IncomingMessage,
    res: ServerResponse,
    identity: GatewayIdentity,
    rest: string,
  ): Promise<void> => {
    const scope = createSessionScope(identity.tenant, identity.principal);
    try {
      if (rest === "" || rest === "/") {
        if (req.method !== "GET") return methodNotAllowed(res, "GET");
        sendJson(res, 200, {
          sessions: await listOwn(options.sessions, identity.tenant, scope.prefix, scope.toClient),
        });
        return;
      }
      const clientId = decodeURIComponent(rest.slice(1));
      const stored = scope.toStored(clientId);
      if (req.method === "GET") {
        const record = await options.sessions.get(stored);
        if (!record || record.tenant !== identity.tenant) return notFound(res, clientId);
        sendJson(res, 200, {
          id: clientId,
          state: record.state,
          counters: record.counters,
          createdAt: record.createdAt,
          updatedAt: record.updatedAt,
          expiresAt: record.expiresAt,
        });
        return;
      }
      if (req.method === "DELETE") {
        const held = options.tenants.acquire(identity.tenant);
        try {
          const deleted = await held.runtime.optimizer.deleteSession(stored);
          if (!deleted) return notFound(res, clientId);
        } finally {
          held.release();
        }
        res.writeHead(204).end();
        return;
      }
      methodNotAllowed(res, "GET, DELETE");
    } catch (error) {
      if (isOptimizerError(error) && error.code === "INVALID_INPUT")
        return notFound(res, rest.slice(1));
      throw error;
    }
  };
}

/** The scope's sessions: a contiguous range of the tenant's ids, read page by page. */
async function listOwn(
  store: SessionStore,
  tenant: string,
  prefix: string,
  toClient: (id: string) => string,
) {
  const own: { id: string; updatedAt: string; expiresAt: string }[] = [];
  // The cursor is exclusive: start just before the first id of the scope.
  let cursor: string | undefined = prefix.slice(0, -1);
  for (;;) {
    const page = await store.list(tenant, { cursor, limit: 500 });
    for (const s of page.sessions) {
      if (!s.id.startsWith(prefix)) {
        if (s.id > prefix) return own;
        continue;
      }
      own.push({ id: toClient(s.id), updatedAt: s.updatedAt, expiresAt: s.expiresAt });
    }
    if (!page.cursor) return own;
    cursor = page.cursor;
  }
}

function notFound(res: ServerResponse, id: string): void {
  sendJson(res, 404, {
    error: { code: "SESSION_NOT_FOUND", message: `No session "${id.slice(0, 80)}".` },
  });
}

function methodNotAllowed(res: ServerResponse, allow: string): void {
  sendJson(
    res,
    405,
    { error: { code: "METHOD_NOT_ALLOWED", message: `Use ${allow}.` } },
    { allow },
  );
}
