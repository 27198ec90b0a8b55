import {
  createMemorySessionStore,
  ErrorCodes,
  OptimizerError,
  type SessionStore,
} from "@mcp-optimizer/core";
import type { SessionsConfig } from "../config/schema.js";
import { importOptional } from "./resolve-package.js";

export const REDIS_SESSIONS_PACKAGE = "@mcp-optimizer/sessions-redis";

interface RedisSessionsModule {
  createRedisSessionStore(options: { url: string; prefix?: string }): SessionStore;
}

/** In-memory sessions by default; Redis when `sessions.redisUrl` is set. */
export async function loadSessionStore(
  config: SessionsConfig | undefined,
  fallbackRedisUrl?: string,
): Promise<SessionStore> {
  const url = config?.redisUrl ?? fallbackRedisUrl;
  if (!url) return createMemorySessionStore();
  const loaded = await importOptional<RedisSessionsModule>(REDIS_SESSIONS_PACKAGE);
  if (!loaded.module) {
    throw new OptimizerError(
      ErrorCodes.SESSION_STORE_UNAVAILABLE,
      `sessions.redisUrl is set but ${loaded.error}.`,
    );
  }
  return loaded.module.createRedisSessionStore({
    url,
    ...(config?.keyPrefix ? { prefix: config.keyPrefix } : {}),
  });
}

/** True when sessions outlive the process (a shared store). */
export function isSharedStore(store: SessionStore): boolean {
  return store.kind !== "memory";
}
