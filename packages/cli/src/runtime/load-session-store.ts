import {
  createMemorySessionStore,
  ErrorCodes,
  OptimizerError,
  REDIS_SESSIONS_PACKAGE,
  type SessionStore,
} from "@mcp-optimizer/core";
import type { SessionsConfig } from "../config/schema.js";
import { importOptional } from "./resolve-package.js";

interface RedisSessionsModule {
  createSessionStore(options: {
    url: string;
    prefix?: string;
    maxSessionBytes?: number;
    maxEntryBytes?: number;
  }): SessionStore;
}

/**
 * In-memory sessions by default; Redis when `sessions.redisUrl` is set, checked at once: an
 * unreachable Redis or a refused password fails here (exit 4, the message names the address)
 * instead of at the first execution. The package is imported from the CLI's own location (it
 * is the CLI's dependency; core's loader looks from core and the working directory).
 */
export async function loadSessionStore(
  config: SessionsConfig | undefined,
  fallbackRedisUrl?: string,
): Promise<SessionStore> {
  const url = config?.redisUrl ?? fallbackRedisUrl;
  const caps = {
    ...(config?.maxSessionBytes ? { maxSessionBytes: config.maxSessionBytes } : {}),
    ...(config?.maxEntryBytes ? { maxEntryBytes: config.maxEntryBytes } : {}),
  };
  if (!url)
    return createMemorySessionStore({
      ...caps,
      ...(config?.maxSessions ? { maxSessions: config.maxSessions } : {}),
    });
  if (config?.maxSessions) {
    throw new OptimizerError(
      ErrorCodes.INVALID_CONFIG,
      "sessions.maxSessions bounds the in-memory store; Redis bounds itself (maxmemory and the sessions' TTL): remove it, or remove sessions.redisUrl.",
    );
  }
  const loaded = await importOptional<RedisSessionsModule>(REDIS_SESSIONS_PACKAGE);
  if (!loaded.module) {
    throw new OptimizerError(
      ErrorCodes.SESSION_STORE_UNAVAILABLE,
      `sessions.redisUrl is set but ${loaded.error}.`,
    );
  }
  const store = loaded.module.createSessionStore({
    url,
    ...(config?.keyPrefix ? { prefix: config.keyPrefix } : {}),
    ...caps,
  });
  try {
    await store.ping?.();
  } catch (error) {
    await store.close().catch(() => {});
    throw error;
  }
  return store;
}

/** True when sessions outlive the process (a shared store). */
export function isSharedStore(store: SessionStore): boolean {
  return store.kind !== "memory";
}
