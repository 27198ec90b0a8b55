import type {
  LeasedSession,
  SessionChange,
  SessionCreateInput,
  SessionData,
  SessionGcReport,
  SessionLease,
  SessionLeaseOptions,
  SessionListOptions,
  SessionListPage,
  SessionRecord,
  SessionStore,
  SessionStoreStats,
  SessionWriteOptions,
} from "../contracts/session-store.js";
import { ErrorCodes, OptimizerError } from "../errors.js";
import { LeaseTable, leaseLostError } from "./lease-table.js";
import { MemoryEntryStore } from "./memory-entry-store.js";
import { assertSessionId, assertTtl, newSessionRecord, nextSessionRecord } from "./session-data.js";

type RecordMeta = Omit<SessionRecord, keyof SessionData> & Pick<SessionData, "tenant">;

/**
 * A stored session: its metadata, and its data as JSON text. Session data is JSON by contract;
 * keeping text means one parse per read and one stringify per write, where copying objects in
 * and out with structuredClone took half of an empty execution's CPU time.
 */
interface Entry {
  meta: RecordMeta;
  data: string;
  /** Bytes of `data`, computed once. */
  bytes: number;
}

function entryOf(record: SessionRecord): Entry {
  const { id, version, createdAt, updatedAt, ttlMs, expiresAt, ...data } = record;
  const text = JSON.stringify(data);
  return {
    meta: { id, version, createdAt, updatedAt, ttlMs, expiresAt, tenant: data.tenant },
    data: text,
    bytes: Buffer.byteLength(text),
  };
}

/** The default session size cap of both stores (Redis's `maxSessionBytes`). */
export const DEFAULT_MAX_SESSION_BYTES = 1024 * 1024;

function recordOf(entry: Entry): SessionRecord {
  return { ...entry.meta, ...(JSON.parse(entry.data) as SessionData) };
}

export interface MemorySessionStoreOptions {
  /** Sessions kept at most; the least recently used goes first. Default 10000. */
  maxSessions?: number;
  /** How often expired sessions are swept, in ms. Default 60000. */
  sweepIntervalMs?: number;
  /** Largest entry value (context, handles, ...), in bytes of its JSON. Default 4 MiB. */
  maxEntryBytes?: number;
  /** Largest session, in bytes of its JSON; a save over it is SESSION_TOO_LARGE. Default 1 MiB. */
  maxSessionBytes?: number;
}

/**
 * The default store: one process, TTL, LRU bound, compare-and-set. Records are kept as JSON
 * text, so callers never share objects with the store.
 */
export class MemorySessionStore implements SessionStore {
  readonly kind = "memory";
  readonly entries: MemoryEntryStore;
  // A Map iterates in insertion order: re-inserting on use makes the first entry the LRU one.
  private readonly records = new Map<string, Entry>();
  private readonly listeners = new Set<(change: SessionChange) => void>();
  private readonly leases = new LeaseTable();
  private readonly sweeper: NodeJS.Timeout;
  private readonly maxSessions: number;
  private readonly maxSessionBytes: number;
  private closed = false;
  /** Sessions removed past their TTL, and over `maxSessions`, since the store started. */
  private readonly evicted = { expired: 0, capacity: 0 };

  constructor(options: MemorySessionStoreOptions = {}) {
    this.maxSessions = options.maxSessions ?? 10_000;
    this.maxSessionBytes = options.maxSessionBytes ?? DEFAULT_MAX_SESSION_BYTES;
    if (!Number.isInteger(this.maxSessionBytes) || this.maxSessionBytes < 1) {
      throw new OptimizerError(
        ErrorCodes.INVALID_CONFIG,
        `maxSessionBytes is a positive integer; got ${this.maxSessionBytes}.`,
      );
    }
    this.entries = new MemoryEntryStore(
      options.maxEntryBytes ? { maxEntryBytes: options.maxEntryBytes } : {},
    );
    this.sweeper = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 60_000);
    this.sweeper.unref();
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    this.assertOpen();
    assertSessionId(id);
    const entry = this.live(id);
    return entry && recordOf(entry);
  }

  async create(
    input: SessionCreateInput,
    options: SessionWriteOptions = {},
  ): Promise<SessionRecord> {
    this.assertOpen();
    const entry = this.sized(entryOf(newSessionRecord(input)));
    this.assertFence(entry.meta.id, options);
    if (this.live(entry.meta.id)) {
      throw new OptimizerError(
        ErrorCodes.SESSION_EXISTS,
        `Session "${entry.meta.id}" already exists.`,
      );
    }
    this.put(entry);
    if (options.release && options.lease) this.leases.release(options.lease);
    return recordOf(entry);
  }

  async update(
    id: string,
    expectedVersion: number,
    next: SessionData,
    options: SessionWriteOptions = {},
  ): Promise<SessionRecord> {
    this.assertOpen();
    assertSessionId(id);
    this.assertFence(id, options);
    const current = this.live(id)?.meta;
    if (!current)
      throw new OptimizerError(
        ErrorCodes.SESSION_NOT_FOUND,
        `No session "${id}" (it may have expired).`,
      );
    if (current.version !== expectedVersion) {
      throw new OptimizerError(
        ErrorCodes.SESSION_CONFLICT,
        `Session "${id}" changed (version ${current.version}, expected ${expectedVersion}); re-read it and try again.`,
        { details: { expectedVersion, actualVersion: current.version } },
      );
    }
    const record = nextSessionRecord(current, next);
    const entry = this.sized(entryOf(record));
    this.put(entry);
    if (options.release && options.lease) this.leases.release(options.lease);
    this.emit({ id, version: entry.meta.version });
    // Built from the caller's own `next`, so handing it back shares nothing with the store.
    return record;
  }

  async acquireLease(id: string, options: SessionLeaseOptions): Promise<LeasedSession> {
    this.assertOpen();
    assertSessionId(id);
    const lease = await this.leases.acquire(id, options);
    const entry = this.live(id);
    return { lease, record: entry && recordOf(entry) };
  }

  async renewLease(lease: SessionLease, ttlMs: number): Promise<boolean> {
    this.assertOpen();
    return this.leases.renew(lease, ttlMs);
  }

  async releaseLease(lease: SessionLease): Promise<void> {
    this.assertOpen();
    this.leases.release(lease);
  }

  async touch(id: string, ttlMs?: number): Promise<boolean> {
    this.assertOpen();
    assertSessionId(id);
    const current = this.live(id);
    if (!current) return false;
    if (ttlMs !== undefined) assertTtl(ttlMs);
    const ttl = ttlMs ?? current.meta.ttlMs;
    const meta = {
      ...current.meta,
      ttlMs: ttl,
      expiresAt: new Date(Date.now() + ttl).toISOString(),
    };
    this.put({ meta, data: current.data, bytes: current.bytes });
    return true;
  }

  async delete(id: string): Promise<boolean> {
    this.assertOpen();
    assertSessionId(id);
    const existed = this.live(id) !== undefined;
    this.records.delete(id);
    this.leases.forget(id);
    if (existed) this.emit({ id, version: null });
    return existed;
  }

  async list(tenant: string, options: SessionListOptions = {}): Promise<SessionListPage> {
    this.assertOpen();
    const limit = Math.min(Math.max(options.limit ?? 100, 1), 1000);
    const ids = [...this.records.values()]
      .map((e) => e.meta)
      .filter((r) => r.tenant === tenant && Date.parse(r.expiresAt) > Date.now())
      .map((r) => r.id)
      .sort();
    const start = options.cursor ? ids.findIndex((id) => id > options.cursor!) : 0;
    const slice = start === -1 ? [] : ids.slice(start, start + limit);
    const sessions = slice.map((id) => {
      const r = this.records.get(id)!.meta;
      return {
        id,
        tenant: r.tenant,
        version: r.version,
        updatedAt: r.updatedAt,
        expiresAt: r.expiresAt,
      };
    });
    const more = start !== -1 && start + limit < ids.length;
    return more ? { sessions, cursor: slice[slice.length - 1]! } : { sessions };
  }

  subscribe(listener: (change: SessionChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async ping(): Promise<void> {
    this.assertOpen();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    this.records.clear();
    this.leases.clear();
    this.entries.clear();
    this.listeners.clear();
  }

  /** Sessions held (expired ones included until swept). */
  get size(): number {
    return this.records.size;
  }

  async stats(): Promise<SessionStoreStats> {
    this.assertOpen();
    const now = Date.now();
    let count = 0;
    let bytes = 0;
    let oldest: RecordMeta | undefined;
    for (const { meta, bytes: size } of this.records.values()) {
      if (Date.parse(meta.expiresAt) <= now) continue;
      count++;
      bytes += size;
      if (!oldest || meta.createdAt < oldest.createdAt) oldest = meta;
    }
    return {
      kind: this.kind,
      sessions: {
        count,
        bytes,
        ...(oldest
          ? { oldest: { id: oldest.id, tenant: oldest.tenant, createdAt: oldest.createdAt } }
          : {}),
      },
      entries: this.entries.totals(),
      evictions: {
        expired: this.evicted.expired + this.entries.expired,
        capacity: this.evicted.capacity,
      },
      limits: {
        maxSessionBytes: this.maxSessionBytes,
        maxEntryBytes: this.entries.maxBytes,
        maxSessions: this.maxSessions,
      },
    };
  }

  async gc(): Promise<SessionGcReport> {
    this.assertOpen();
    const started = performance.now();
    const { sessions, entries } = this.sweep();
    return {
      sessions,
      entries,
      indexMembers: 0,
      durationMs: Math.round((performance.now() - started) * 100) / 100,
    };
  }

  /** Refuses a session over `maxSessionBytes`, naming the cap; nothing is written. */
  private sized(entry: Entry): Entry {
    if (entry.bytes > this.maxSessionBytes) {
      throw new OptimizerError(
        ErrorCodes.SESSION_TOO_LARGE,
        `Session "${entry.meta.id}" would take ${entry.bytes} bytes, over this store's limit of ${this.maxSessionBytes} (maxSessionBytes); keep less in state, files, snippets or the log.`,
        { details: { bytes: entry.bytes, limit: this.maxSessionBytes, cap: "maxSessionBytes" } },
      );
    }
    return entry;
  }

  private live(id: string): Entry | undefined {
    const entry = this.records.get(id);
    if (!entry) return undefined;
    if (Date.parse(entry.meta.expiresAt) <= Date.now()) {
      this.records.delete(id);
      this.evicted.expired++;
      return undefined;
    }
    return entry;
  }

  private put(entry: Entry): void {
    this.records.delete(entry.meta.id);
    this.records.set(entry.meta.id, entry);
    while (this.records.size > this.maxSessions) {
      const oldest = this.records.keys().next().value as string;
      this.records.delete(oldest);
      this.evicted.capacity++;
      this.emit({ id: oldest, version: null });
    }
  }

  /** Removes expired sessions and entries; returns how many of each. */
  private sweep(): { sessions: number; entries: number } {
    const entries = this.entries.sweep();
    const now = Date.now();
    let sessions = 0;
    for (const [id, entry] of this.records) {
      if (Date.parse(entry.meta.expiresAt) <= now) {
        this.records.delete(id);
        this.leases.forget(id);
        sessions++;
      }
    }
    this.evicted.expired += sessions;
    return { sessions, entries };
  }

  /** A write under a lease that a later grant replaced writes nothing. */
  private assertFence(id: string, options: SessionWriteOptions): void {
    if (!options.lease) return;
    if (options.lease.sessionId !== id || !this.leases.isCurrent(options.lease))
      throw leaseLostError(id);
  }

  private emit(change: SessionChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch {}
    }
  }

  private assertOpen(): void {
    if (this.closed)
      throw new OptimizerError(
        ErrorCodes.SESSION_STORE_UNAVAILABLE,
        "The memory session store is closed.",
      );
  }
}

export function createMemorySessionStore(
  options: MemorySessionStoreOptions = {},
): MemorySessionStore {
  return new MemorySessionStore(options);
}
