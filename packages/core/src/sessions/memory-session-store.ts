import type {
  SessionChange,
  SessionCreateInput,
  SessionData,
  SessionListOptions,
  SessionListPage,
  SessionRecord,
  SessionStore,
} from "../contracts/session-store.js";
import { ErrorCodes, OptimizerError } from "../errors.js";
import { assertSessionId, assertTtl, newSessionRecord, nextSessionRecord } from "./session-data.js";

export interface MemorySessionStoreOptions {
  /** Sessions kept at most; the least recently used goes first. Default 10000. */
  maxSessions?: number;
  /** How often expired sessions are swept, in ms. Default 60000. */
  sweepIntervalMs?: number;
}

/**
 * The default store: one process, TTL, LRU bound, compare-and-set. Records are copied in
 * and out, so callers never share objects with the store.
 */
export class MemorySessionStore implements SessionStore {
  readonly kind = "memory";
  // A Map iterates in insertion order: re-inserting on use makes the first entry the LRU one.
  private readonly records = new Map<string, SessionRecord>();
  private readonly listeners = new Set<(change: SessionChange) => void>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly maxSessions: number;
  private closed = false;

  constructor(options: MemorySessionStoreOptions = {}) {
    this.maxSessions = options.maxSessions ?? 10_000;
    this.sweeper = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 60_000);
    this.sweeper.unref();
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    this.assertOpen();
    assertSessionId(id);
    const record = this.live(id);
    return record && structuredClone(record);
  }

  async create(input: SessionCreateInput): Promise<SessionRecord> {
    this.assertOpen();
    const record = newSessionRecord(structuredClone(input));
    if (this.live(record.id)) {
      throw new OptimizerError(ErrorCodes.SESSION_EXISTS, `Session "${record.id}" already exists.`);
    }
    this.put(record);
    return structuredClone(record);
  }

  async update(id: string, expectedVersion: number, next: SessionData): Promise<SessionRecord> {
    this.assertOpen();
    assertSessionId(id);
    const current = this.live(id);
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
    const record = nextSessionRecord(current, structuredClone(next));
    this.put(record);
    this.emit({ id, version: record.version });
    return structuredClone(record);
  }

  async touch(id: string, ttlMs?: number): Promise<boolean> {
    this.assertOpen();
    assertSessionId(id);
    const current = this.live(id);
    if (!current) return false;
    if (ttlMs !== undefined) assertTtl(ttlMs);
    const ttl = ttlMs ?? current.ttlMs;
    this.put({ ...current, ttlMs: ttl, expiresAt: new Date(Date.now() + ttl).toISOString() });
    return true;
  }

  async delete(id: string): Promise<boolean> {
    this.assertOpen();
    assertSessionId(id);
    const existed = this.live(id) !== undefined;
    this.records.delete(id);
    if (existed) this.emit({ id, version: null });
    return existed;
  }

  async list(tenant: string, options: SessionListOptions = {}): Promise<SessionListPage> {
    this.assertOpen();
    const limit = Math.min(Math.max(options.limit ?? 100, 1), 1000);
    const ids = [...this.records.values()]
      .filter((r) => r.tenant === tenant && Date.parse(r.expiresAt) > Date.now())
      .map((r) => r.id)
      .sort();
    const start = options.cursor ? ids.findIndex((id) => id > options.cursor!) : 0;
    const slice = start === -1 ? [] : ids.slice(start, start + limit);
    const sessions = slice.map((id) => {
      const r = this.records.get(id)!;
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
    this.listeners.clear();
  }

  /** Sessions held (expired ones included until swept). */
  get size(): number {
    return this.records.size;
  }

  private live(id: string): SessionRecord | undefined {
    const record = this.records.get(id);
    if (!record) return undefined;
    if (Date.parse(record.expiresAt) <= Date.now()) {
      this.records.delete(id);
      return undefined;
    }
    return record;
  }

  private put(record: SessionRecord): void {
    this.records.delete(record.id);
    this.records.set(record.id, record);
    while (this.records.size > this.maxSessions) {
      const oldest = this.records.keys().next().value as string;
      this.records.delete(oldest);
      this.emit({ id: oldest, version: null });
    }
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, record] of this.records) {
      if (Date.parse(record.expiresAt) <= now) this.records.delete(id);
    }
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
