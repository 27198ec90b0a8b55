import type { CallCache, CallCacheKey, CallCacheLookup } from "../contracts/call-cache.js";
import type { ToolCallResult } from "../contracts/upstream.js";

export interface MemoryCallCacheOptions {
  /** Entries kept at most; the least recently used goes first. Default 10000. */
  maxEntries?: number;
  /** The clock, in ms (tests move it). Default Date.now. */
  now?: () => number;
}

interface Entry {
  result: ToolCallResult;
  generation: number;
  expiresAt: number;
}

/** The CallCache of one process: a bounded LRU map with per-entry expiry. */
export class MemoryCallCache implements CallCache {
  readonly kind = "memory";
  private readonly entries = new Map<string, Entry>();
  private readonly generations = new Map<string, number>();
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: MemoryCallCacheOptions = {}) {
    this.maxEntries = Math.max(1, options.maxEntries ?? 10_000);
    this.now = options.now ?? Date.now;
  }

  async get(key: CallCacheKey): Promise<CallCacheLookup> {
    const generation = this.generations.get(key.server) ?? 0;
    const id = entryId(key);
    const entry = this.entries.get(id);
    if (!entry || entry.generation !== generation || entry.expiresAt <= this.now()) {
      if (entry) this.entries.delete(id);
      return { generation };
    }
    this.entries.delete(id);
    this.entries.set(id, entry); // most recently used last
    return { result: structuredClone(entry.result), generation };
  }

  async set(
    key: CallCacheKey,
    result: ToolCallResult,
    ttlMs: number,
    generation: number,
  ): Promise<void> {
    if ((this.generations.get(key.server) ?? 0) !== generation || ttlMs <= 0) return;
    const id = entryId(key);
    this.entries.delete(id);
    this.entries.set(id, {
      result: structuredClone(result),
      generation,
      expiresAt: this.now() + ttlMs,
    });
    while (this.entries.size > this.maxEntries) {
      this.entries.delete(this.entries.keys().next().value as string);
    }
  }

  async invalidate(server: string): Promise<void> {
    this.generations.set(server, (this.generations.get(server) ?? 0) + 1);
    for (const id of this.entries.keys())
      if (id.startsWith(`${server}\u0000`)) this.entries.delete(id);
  }

  /** Entries held (expired ones included until they are read or pushed out). */
  get size(): number {
    return this.entries.size;
  }

  async close(): Promise<void> {
    this.entries.clear();
  }
}

function entryId(key: CallCacheKey): string {
  return `${key.server}\u0000${key.tenant}\u0000${key.tool}\u0000${key.args}`;
}

export function createMemoryCallCache(options: MemoryCallCacheOptions = {}): MemoryCallCache {
  return new MemoryCallCache(options);
}
