export { createSessionStore } from "./create-session-store.js";
export {
  createRedisCallCache,
  RedisCallCache,
  type RedisCallCacheOptions,
} from "./redis-call-cache.js";
export type { RedisClient } from "./redis-connection.js";
export { createRedisSessionStore, RedisSessionStore } from "./redis-session-store.js";
export type {
  RedisNode,
  RedisSessionCacheOptions,
  RedisSessionStoreOptions,
} from "./redis-session-store-options.js";
export {
  createRedisToolUsageStore,
  RedisToolUsageStore,
  type RedisToolUsageStoreOptions,
} from "./redis-tool-usage-store.js";
export { FORMAT_DEFLATE, FORMAT_JSON } from "./session-encoding.js";
