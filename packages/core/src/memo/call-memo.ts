import type { MemoConfig } from "../config/schema.js";
import type { CallCache, CallCacheKey } from "../contracts/call-cache.js";
import type { ToolAnnotations, ToolCallResult } from "../contracts/upstream.js";
import type { JsonValue } from "../json.js";
import { Attr, Instruments, type Telemetry } from "../telemetry/instruments.js";

/** Default time a memoised result is kept: one minute. */
export const DEFAULT_MEMO_TTL_MS = 60_000;

export interface CallMemoOptions {
  /** Where results are kept: MemoryCallCache, or a shared one (sessions-redis). */
  cache: CallCache;
  /** Each server's `memo` setting; servers not listed (or `false`) are never memoised. */
  servers: Record<string, MemoConfig | undefined>;
  /** Counts hits, misses and invalidations. Default: none. */
  telemetry?: Telemetry;
}

/** What the memo does with one call. */
export type MemoDecision =
  | { kind: "none" }
  | { kind: "cache"; ttlMs: number }
  /** The server is memoised and this tool may write: its cache is dropped around the call. */
  | { kind: "invalidate" };

/** A lookup: a hit, or what storing the fresh result needs. */
export type MemoLookup =
  | { hit: true; result: ToolCallResult }
  | { hit: false; key: CallCacheKey; generation: number | undefined; ttlMs: number };

/**
 * Memoised read-only calls: results of tools annotated read-only (or listed in a server's
 * `memo.tools`) are kept per (tenant, server, tool, canonical arguments) for the server's
 * TTL; any call to another tool of that server drops the server's entries. The cache is an
 * optimisation: when it fails, the call goes to the upstream as if the memo were off.
 */
export class CallMemo {
  private readonly policies = new Map<string, { ttlMs: number; tools: Set<string> }>();

  constructor(private readonly options: CallMemoOptions) {
    for (const [server, config] of Object.entries(options.servers)) {
      if (!config) continue;
      const c = config === true ? {} : config;
      this.policies.set(server, {
        ttlMs: c.ttlMs ?? DEFAULT_MEMO_TTL_MS,
        tools: new Set(c.tools ?? []),
      });
    }
  }

  get kind(): string {
    return this.options.cache.kind;
  }

  /** Whether any server is memoised. */
  get enabled(): boolean {
    return this.policies.size > 0;
  }

  decide(server: string, tool: string, annotations: ToolAnnotations | undefined): MemoDecision {
    const policy = this.policies.get(server);
    if (!policy) return { kind: "none" };
    if (annotations?.readOnlyHint === true || policy.tools.has(tool))
      return { kind: "cache", ttlMs: policy.ttlMs };
    return { kind: "invalidate" };
  }

  async lookup(
    tenant: string,
    server: string,
    tool: string,
    args: JsonValue,
    ttlMs: number,
  ): Promise<MemoLookup> {
    const key: CallCacheKey = { tenant, server, tool, args: canonicalJson(args) };
    let generation: number | undefined;
    try {
      const found = await this.options.cache.get(key);
      generation = found.generation;
      if (found.result) {
        this.options.telemetry?.count(Instruments.toolCacheHits, 1, { [Attr.server]: server });
        return { hit: true, result: found.result };
      }
    } catch {
      // A cache that is down is a miss; without a generation the result is not stored.
    }
    this.options.telemetry?.count(Instruments.toolCacheMisses, 1, { [Attr.server]: server });
    return { hit: false, key, generation, ttlMs };
  }

  /** Keeps a successful result (error results are never kept). */
  async store(lookup: MemoLookup, result: ToolCallResult): Promise<void> {
    if (lookup.hit || lookup.generation === undefined || result.isError) return;
    try {
      await this.options.cache.set(lookup.key, result, lookup.ttlMs, lookup.generation);
    } catch {}
  }

  async invalidate(server: string): Promise<void> {
    try {
      await this.options.cache.invalidate(server);
      this.options.telemetry?.count(Instruments.toolCacheInvalidations, 1, {
        [Attr.server]: server,
      });
    } catch {}
  }

  close(): Promise<void> {
    return this.options.cache.close();
  }
}

/** JSON with object keys sorted at every level: equal arguments give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value as Record<string, unknown>)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** `createCallMemo({ cache, servers })`: see CallMemo. */
export function createCallMemo(options: CallMemoOptions): CallMemo {
  return new CallMemo(options);
}

/** The `memo` settings of an `mcpServers` map, for CallMemoOptions.servers. */
export function memoSettings(
  servers: Record<string, { memo?: MemoConfig | undefined }>,
): Record<string, MemoConfig | undefined> {
  return Object.fromEntries(Object.entries(servers).map(([name, s]) => [name, s.memo]));
}
