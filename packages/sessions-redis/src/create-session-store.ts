import type { SessionStore } from "@mcp-optimizer/core";
import { createRedisSessionStore } from "./redis-session-store.js";
import type { RedisSessionStoreOptions } from "./redis-session-store-options.js";

/**
 * The name-based entry point for hosts that load a session store by package name (the CLI
 * with `redisUrl`): `(await import("@mcp-optimizer/sessions-redis")).createSessionStore({ url })`.
 */
export const createSessionStore = (options: RedisSessionStoreOptions): SessionStore =>
  createRedisSessionStore(options);
