import type { SessionStore } from "../contracts/session-store.js";
import { ErrorCodes, OptimizerError } from "../errors.js";
import { importPlugin } from "../sandbox/load-sandbox.js";

/** The package that keeps sessions in Redis, loaded by name like the sandbox plug-ins. */
export const REDIS_SESSIONS_PACKAGE = "@mcp-optimizer/sessions-redis";

export interface LoadSessionStoreOptions {
  /** A redis:// or rediss:// URL. */
  redisUrl: string;
  /** Prefix of every key: one per deployment. Default: the store's own ("mcpo:"). */
  prefix?: string;
}

type SessionStoreFactory = (options: { url: string; prefix?: string }) => SessionStore;

/**
 * The Redis session store, from @mcp-optimizer/sessions-redis imported by name; fails with
 * SESSION_STORE_UNAVAILABLE naming the package when it is not installed.
 */
export async function loadSessionStore(options: LoadSessionStoreOptions): Promise<SessionStore> {
  const pkg = REDIS_SESSIONS_PACKAGE;
  const mod = await importPlugin<{ createSessionStore?: SessionStoreFactory }>(pkg);
  if (!mod) {
    throw new OptimizerError(
      ErrorCodes.SESSION_STORE_UNAVAILABLE,
      `redisUrl is set, so sessions go to Redis, which needs the package ${pkg}: it is not installed. Install it next to @mcp-optimizer/core (pnpm add ${pkg}), or remove redisUrl to keep sessions in memory.`,
      { details: { package: pkg } },
    );
  }
  if (typeof mod.createSessionStore !== "function") {
    throw new OptimizerError(
      ErrorCodes.SESSION_STORE_UNAVAILABLE,
      `${pkg} does not export createSessionStore(); is it the session store package?`,
      { details: { package: pkg } },
    );
  }
  return mod.createSessionStore({
    url: options.redisUrl,
    ...(options.prefix ? { prefix: options.prefix } : {}),
  });
}
