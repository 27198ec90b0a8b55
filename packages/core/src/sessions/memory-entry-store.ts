import type {
  EntryListOptions,
  EntryPage,
  EntryScopeLimits,
  EntryScopeStats,
  EntryStore,
  EntryWriteOptions,
  StoredEntry,
} from "../contracts/entry-store.js";
import type { JsonValue } from "../json.js";
import {
  assertEntryName,
  assertEntryOptions,
  DEFAULT_MAX_ENTRY_BYTES,
  entryConflict,
  entryText,
  scopeFull,
} from "./entry-rules.js";

interface Kept {
  text: string;
  /** Bytes of `text`, computed once. */
  bytes: number;
  version: number;
  updatedAt: string;
  expiresAtMs: number | undefined;
}

export interface MemoryEntryStoreOptions {
  /** Largest value, in bytes of its JSON. Default 4 MiB. */
  maxEntryBytes?: number;
}

/** Entries in this process's memory: the memory session store's `entries`. */
export class MemoryEntryStore implements EntryStore {
  private readonly scopes = new Map<string, Map<string, Kept>>();
  /** Largest value, in bytes of its JSON. */
  readonly maxBytes: number;
  private expiredCount = 0;

  constructor(options: MemoryEntryStoreOptions = {}) {
    this.maxBytes = options.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES;
  }

  async get(scope: string, key: string): Promise<StoredEntry | undefined> {
    assertEntryName("scope", scope);
    assertEntryName("key", key);
    const kept = this.live(scope, key);
    return kept && toEntry(key, kept);
  }

  async set(
    scope: string,
    key: string,
    value: JsonValue,
    options: EntryWriteOptions = {},
  ): Promise<StoredEntry> {
    assertEntryName("scope", scope);
    assertEntryName("key", key);
    assertEntryOptions(options);
    const text = entryText(scope, key, value, this.maxBytes);
    const current = this.live(scope, key);
    const version = current?.version ?? 0;
    if (options.expectedVersion !== undefined && options.expectedVersion !== version)
      throw entryConflict(scope, key, options.expectedVersion, version);
    // No await between this check and the write below: it is atomic in this process.
    if (options.scopeLimits) this.assertWithin(scope, key, text, current, options.scopeLimits);
    const now = Date.now();
    const kept: Kept = {
      text,
      bytes: Buffer.byteLength(text),
      version: version + 1,
      updatedAt: new Date(now).toISOString(),
      expiresAtMs: options.ttlMs !== undefined ? now + options.ttlMs : current?.expiresAtMs,
    };
    let entries = this.scopes.get(scope);
    if (!entries) {
      entries = new Map();
      this.scopes.set(scope, entries);
    }
    entries.set(key, kept);
    return toEntry(key, kept);
  }

  async delete(
    scope: string,
    key: string,
    options: { expectedVersion?: number } = {},
  ): Promise<boolean> {
    assertEntryName("scope", scope);
    assertEntryName("key", key);
    assertEntryOptions(options);
    const current = this.live(scope, key);
    if (!current) return false;
    if (options.expectedVersion !== undefined && options.expectedVersion !== current.version)
      throw entryConflict(scope, key, options.expectedVersion, current.version);
    this.scopes.get(scope)!.delete(key);
    return true;
  }

  async list(scope: string, options: EntryListOptions = {}): Promise<EntryPage> {
    assertEntryName("scope", scope);
    const limit = Math.min(Math.max(Math.trunc(options.limit ?? 100), 1), 1000);
    const prefix = options.prefix ?? "";
    const keys = [...(this.scopes.get(scope)?.keys() ?? [])]
      .filter((k) => k.startsWith(prefix) && (options.cursor === undefined || k > options.cursor))
      .sort();
    const entries: StoredEntry[] = [];
    for (const key of keys) {
      const kept = this.live(scope, key);
      if (!kept) continue;
      if (entries.length === limit) return { entries, cursor: entries[limit - 1]!.key };
      entries.push(toEntry(key, kept));
    }
    return { entries };
  }

  async stats(scope: string): Promise<EntryScopeStats> {
    assertEntryName("scope", scope);
    return this.held(scope);
  }

  private held(scope: string): EntryScopeStats {
    let entries = 0;
    let bytes = 0;
    for (const key of [...(this.scopes.get(scope)?.keys() ?? [])]) {
      const kept = this.live(scope, key);
      if (!kept) continue;
      entries++;
      bytes += kept.bytes;
    }
    return { entries, bytes };
  }

  private assertWithin(
    scope: string,
    key: string,
    text: string,
    current: Kept | undefined,
    limits: EntryScopeLimits,
  ): void {
    const held = this.held(scope);
    const bytes = held.bytes - (current?.bytes ?? 0) + Buffer.byteLength(text);
    if (bytes > limits.maxBytes) throw scopeFull(scope, key, "bytes", limits.maxBytes, bytes);
    const entries = held.entries + (current ? 0 : 1);
    if (entries > limits.maxEntries)
      throw scopeFull(scope, key, "entries", limits.maxEntries, entries);
  }

  /** Live entries of every scope, by the kind of scope (the text before its first ":"). */
  totals(): {
    count: number;
    bytes: number;
    byKind: Record<string, { count: number; bytes: number }>;
  } {
    const now = Date.now();
    const byKind: Record<string, { count: number; bytes: number }> = {};
    let count = 0;
    let bytes = 0;
    for (const [scope, entries] of this.scopes) {
      const kind = scope.includes(":") ? scope.slice(0, scope.indexOf(":")) : scope;
      for (const kept of entries.values()) {
        if (kept.expiresAtMs !== undefined && kept.expiresAtMs <= now) continue;
        let at = byKind[kind];
        if (!at) {
          at = { count: 0, bytes: 0 };
          byKind[kind] = at;
        }
        at.count++;
        at.bytes += kept.bytes;
        count++;
        bytes += kept.bytes;
      }
    }
    return { count, bytes, byKind };
  }

  /** Entries removed past their TTL since the store started. */
  get expired(): number {
    return this.expiredCount;
  }

  /** Drops expired entries (the session store's sweep calls it); returns how many. */
  sweep(): number {
    const now = Date.now();
    let removed = 0;
    for (const [scope, entries] of this.scopes) {
      for (const [key, kept] of entries)
        if (kept.expiresAtMs !== undefined && kept.expiresAtMs <= now) {
          entries.delete(key);
          removed++;
        }
      if (entries.size === 0) this.scopes.delete(scope);
    }
    this.expiredCount += removed;
    return removed;
  }

  clear(): void {
    this.scopes.clear();
  }

  private live(scope: string, key: string): Kept | undefined {
    const entries = this.scopes.get(scope);
    const kept = entries?.get(key);
    if (!kept) return undefined;
    if (kept.expiresAtMs !== undefined && kept.expiresAtMs <= Date.now()) {
      entries!.delete(key);
      this.expiredCount++;
      return undefined;
    }
    return kept;
  }
}

function toEntry(key: string, kept: Kept): StoredEntry {
  return {
    key,
    value: JSON.parse(kept.text) as JsonValue,
    version: kept.version,
    updatedAt: kept.updatedAt,
    ...(kept.expiresAtMs !== undefined
      ? { expiresAt: new Date(kept.expiresAtMs).toISOString() }
      : {}),
  };
}
