import type { ToolCallResult } from "./upstream.js";

/** One memoised call: whose it is and what was asked. `args` is canonical JSON (sorted keys). */
export interface CallCacheKey {
  tenant: string;
  server: string;
  tool: string;
  args: string;
}

/** What `get` found, and the server's generation to hand to `set`. */
export interface CallCacheLookup {
  result?: ToolCallResult;
  generation: number;
}

/**
 * Results of read-only tool calls, kept for a while. Every server has a generation; a write
 * to the server bumps it (`invalidate`), which drops every entry of that server at once, and
 * `set` stores nothing when the generation moved since the `get` (a write landed while the
 * read was in flight). Implementations: MemoryCallCache (core), RedisCallCache
 * (@mcp-optimizer/sessions-redis, shared by replicas). A cache failure never fails a call:
 * the engine treats it as a miss.
 */
export interface CallCache {
  /** Stable name for metrics and capability reports, e.g. "memory". */
  readonly kind: string;
  get(key: CallCacheKey): Promise<CallCacheLookup>;
  /** Stores a result for `ttlMs` unless the server's generation is no longer `generation`. */
  set(key: CallCacheKey, result: ToolCallResult, ttlMs: number, generation: number): Promise<void>;
  /** Drops every entry of a server, for every tenant (its data changed). */
  invalidate(server: string): Promise<void>;
  close(): Promise<void>;
}
