import {
  assertEntryName,
  assertEntryOptions,
  DEFAULT_MAX_ENTRY_BYTES,
  type EntryListOptions,
  type EntryPage,
  type EntryScopeStats,
  type EntryStore,
  type EntryWriteOptions,
  entryConflict,
  entryText,
  type JsonValue,
  type StoredEntry,
  scopeFull,
} from "@mcp-optimizer/core";
import {
  entryDeleteScript,
  entryPruneScript,
  entrySetScript,
  type LuaScript,
} from "./lua-scripts.js";
import type { SessionKeys } from "./session-keys.js";

type Arg = string | number | Buffer;

/** What the entry store borrows from its session store: the connection and its guards. */
export interface EntryStoreBackend {
  keys: SessionKeys;
  /** Runs Redis work with the store's fail-fast and timeout rules and its error mapping. */
  op<T>(what: string, work: () => Promise<T>): Promise<T>;
  eval(script: LuaScript, keys: string[], args: Arg[]): Promise<unknown>;
  call(command: string, ...args: Arg[]): Promise<unknown>;
  maxEntryBytes?: number;
}

/**
 * Entries in Redis (core's EntryStore): one hash per entry (version, updated, expiry, JSON)
 * with its TTL as the key's own expiry, and a sorted set per scope for ordered listing, both
 * under the scope's hash tag so a scope lives in one Cluster slot. Writes and compare-and-set
 * are one Lua script each; index members of expired entries are pruned as listings pass them.
 */
export class RedisEntryStore implements EntryStore {
  /** Largest value, in bytes of its JSON. */
  readonly maxBytes: number;

  constructor(private readonly backend: EntryStoreBackend) {
    this.maxBytes = backend.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES;
  }

  async get(scope: string, key: string): Promise<StoredEntry | undefined> {
    assertEntryName("scope", scope);
    assertEntryName("key", key);
    const row = (await this.backend.op(`entry get of "${key}"`, () =>
      this.backend.call("HMGET", this.backend.keys.entry(scope, key), "v", "u", "x", "d"),
    )) as (string | null)[];
    return toEntry(key, row);
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
    const now = Date.now();
    const limits = options.scopeLimits;
    const reply = (await this.backend.op(`entry write of "${key}"`, () =>
      this.backend.eval(
        entrySetScript,
        [this.backend.keys.entry(scope, key), this.backend.keys.entryIndex(scope)],
        [
          key,
          text,
          now,
          options.ttlMs ?? "",
          options.expectedVersion ?? "",
          ...(limits
            ? [this.backend.keys.entry(scope, ""), limits.maxBytes, limits.maxEntries]
            : []),
        ],
      ),
    )) as [number, number | string, number?];
    const version = Number(reply[0]);
    if (version === 0) throw entryConflict(scope, key, options.expectedVersion!, Number(reply[1]));
    if (version === -1) {
      const cap = reply[1] as "bytes" | "entries";
      const limit = cap === "bytes" ? limits!.maxBytes : limits!.maxEntries;
      throw scopeFull(scope, key, cap, limit, Number(reply[2]));
    }
    const expiresAt = reply[1] === "" ? undefined : Number(reply[1]);
    return {
      key,
      value: JSON.parse(text) as JsonValue,
      version,
      updatedAt: new Date(now).toISOString(),
      ...(expiresAt !== undefined ? { expiresAt: new Date(expiresAt).toISOString() } : {}),
    };
  }

  async delete(
    scope: string,
    key: string,
    options: { expectedVersion?: number } = {},
  ): Promise<boolean> {
    assertEntryName("scope", scope);
    assertEntryName("key", key);
    assertEntryOptions(options);
    const reply = await this.backend.op(`entry delete of "${key}"`, () =>
      this.backend.eval(
        entryDeleteScript,
        [this.backend.keys.entry(scope, key), this.backend.keys.entryIndex(scope)],
        [key, options.expectedVersion ?? ""],
      ),
    );
    if (Array.isArray(reply))
      throw entryConflict(scope, key, options.expectedVersion!, Number(reply[1]));
    return Number(reply) === 1;
  }

  async list(scope: string, options: EntryListOptions = {}): Promise<EntryPage> {
    assertEntryName("scope", scope);
    const limit = Math.min(Math.max(Math.trunc(options.limit ?? 100), 1), 1000);
    const prefix = options.prefix ?? "";
    const entries: StoredEntry[] = [];
    let from: Buffer = options.cursor
      ? Buffer.from(`(${options.cursor}`)
      : Buffer.from(`[${prefix}`);
    // Every key that starts with the prefix sorts below the prefix followed by byte 0xff.
    const to = Buffer.concat([Buffer.from(`[${prefix}`), Buffer.from([0xff])]);
    for (;;) {
      const want = limit + 1 - entries.length;
      const keys = (await this.backend.op(`entry list of ${scope}`, () =>
        this.backend.call(
          "ZRANGE",
          this.backend.keys.entryIndex(scope),
          from,
          to,
          "BYLEX",
          "LIMIT",
          0,
          want,
        ),
      )) as string[];
      if (keys.length === 0) break;
      const rows = await this.rows(scope, keys);
      for (const [i, key] of keys.entries()) {
        const entry = toEntry(key, rows[i]!);
        if (entry && entries.length <= limit) entries.push(entry);
      }
      if (entries.length > limit || keys.length < want) break;
      from = Buffer.from(`(${keys[keys.length - 1]}`);
    }
    if (entries.length > limit) {
      entries.length = limit;
      return { entries, cursor: entries[limit - 1]!.key };
    }
    return { entries };
  }

  async stats(scope: string): Promise<EntryScopeStats> {
    assertEntryName("scope", scope);
    let entries = 0;
    let bytes = 0;
    let cursor: string | undefined;
    do {
      const page = await this.list(scope, { limit: 1000, ...(cursor ? { cursor } : {}) });
      entries += page.entries.length;
      for (const e of page.entries) bytes += Buffer.byteLength(JSON.stringify(e.value));
      cursor = page.cursor;
    } while (cursor);
    return { entries, bytes };
  }

  /** The rows of `keys`; index members whose entry expired are pruned on the way. */
  private async rows(scope: string, keys: string[]): Promise<(string | null)[][]> {
    const rows = (await this.backend.op(`entry list of ${scope}`, () =>
      Promise.all(
        keys.map((k) =>
          this.backend.call("HMGET", this.backend.keys.entry(scope, k), "v", "u", "x", "d"),
        ),
      ),
    )) as (string | null)[][];
    const gone = keys.filter((_, i) => rows[i]![0] === null);
    if (gone.length > 0) {
      const { keys: names } = this.backend;
      await this.backend
        .op(`entry index prune of ${scope}`, () =>
          this.backend.eval(
            entryPruneScript,
            [names.entryIndex(scope), ...gone.map((k) => names.entry(scope, k))],
            gone,
          ),
        )
        .catch(() => {});
    }
    return rows;
  }
}

function toEntry(key: string, row: (string | null)[]): StoredEntry | undefined {
  const [v, u, x, d] = row;
  if (v === null || v === undefined || d === null || d === undefined) return undefined;
  return {
    key,
    value: JSON.parse(d) as JsonValue,
    version: Number(v),
    updatedAt: new Date(Number(u)).toISOString(),
    ...(x ? { expiresAt: new Date(Number(x)).toISOString() } : {}),
  };
}
