import type { JsonObject } from "../json.js";
import type { EntryStore } from "./entry-store.js";

/** Which servers and tools a session may call. Absent means everything configured. */
export interface SessionAllowlist {
  /** Server names, e.g. ["github"]. */
  servers?: string[];
  /** Qualified tool names or patterns: "github.list_issues", "github.*". */
  tools?: string[];
  /** Tools refused even when the lists above allow them. */
  deny?: string[];
}

export interface SessionToolCallLog {
  server: string;
  tool: string;
  outcome: "ok" | "error";
  errorCode?: string;
  durationMs: number;
  /** The result came from the memo cache; the upstream was not called. */
  cached?: boolean;
  /** A dry run answered it with a placeholder; the upstream was not called. */
  dryRun?: boolean;
}

/** One line of the execution log, kept for audit, approvals and replay. */
export interface SessionLogEntry {
  executionId: string;
  at: string;
  kind: "run" | "operation";
  /** The operation name, for `execute()`. */
  operation?: string;
  /** The program, cut to a few KB. */
  code: string;
  outcome: "ok" | "error";
  errorCode?: string;
  durationMs: number;
  mode: string;
  /** What the sandbox noted, e.g. a hybrid sandbox's fallbacks ("fell back from docker (...) to wasm"). */
  notes?: string[];
  toolCalls: SessionToolCallLog[];
  tokens: { used: number; plainMcp: number };
}

export interface SessionCounters {
  executions: number;
  toolCalls: number;
  tokensUsed: number;
  tokensPlainMcp: number;
  costUsd: number;
}

export interface SessionSnippet {
  code: string;
  description?: string;
  updatedAt: string;
}

/** The data of a session, as stored. */
export interface SessionData {
  tenant: string;
  allow: SessionAllowlist;
  state: JsonObject;
  /** Small workspace files: path -> UTF-8 content. */
  files: Record<string, string>;
  snippets: Record<string, SessionSnippet>;
  /** Newest last; stores keep a bounded tail. */
  log: SessionLogEntry[];
  counters: SessionCounters;
}

export interface SessionRecord extends SessionData {
  id: string;
  /** Increases by one on every successful update; the compare-and-set token. */
  version: number;
  createdAt: string;
  updatedAt: string;
  /** Sliding time to live in milliseconds. */
  ttlMs: number;
  expiresAt: string;
}

export interface SessionCreateInput extends Partial<SessionData> {
  id: string;
  ttlMs?: number;
}

export interface SessionSummary {
  id: string;
  tenant: string;
  version: number;
  updatedAt: string;
  expiresAt: string;
}

export interface SessionListOptions {
  /** Opaque cursor from a previous page. */
  cursor?: string;
  /** Page size; stores cap it. */
  limit?: number;
}

export interface SessionListPage {
  sessions: SessionSummary[];
  cursor?: string;
}

/** Why a cached copy of a session must be dropped. */
export interface SessionChange {
  id: string;
  version: number | null;
}

/**
 * A session's turn: while an execution holds it, no other execution of that session (in this
 * process or on another replica) runs. See docs/adr/0017-session-lease-not-merge.md.
 */
export interface SessionLease {
  sessionId: string;
  /**
   * The fencing token: every grant of this session's lease gets a larger one. A save carries
   * it, and the store refuses it once a later grant exists (SESSION_LEASE_LOST).
   */
  token: number;
  /** Who holds it: unique per grant, opaque. */
  holder: string;
}

export interface SessionLeaseOptions {
  /** How long the lease holds unless renewed, in ms. */
  ttlMs: number;
  /** How long to wait for the turn, in ms; SESSION_BUSY after it. 0: do not wait. */
  waitMs: number;
}

/** A granted lease and the session as it was read in the same step. */
export interface LeasedSession {
  lease: SessionLease;
  /** Undefined when no such session exists (yet). */
  record: SessionRecord | undefined;
}

export interface SessionWriteOptions {
  /** Write only while no later lease of the session was granted; else SESSION_LEASE_LOST, nothing written. */
  lease?: SessionLease;
  /** Give the lease back in the same step as the write. Default false. */
  release?: boolean;
}

/** Count and bytes of what a store holds of one kind. */
export interface StoredAmount {
  count: number;
  /** Bytes of the stored JSON (as stored: a compressed session counts compressed). */
  bytes: number;
}

/** What a store holds, for cache management (`sessions stats`, the stored-bytes gauge). */
export interface SessionStoreStats {
  kind: string;
  sessions: StoredAmount & {
    /** The session created longest ago. */
    oldest?: { id: string; tenant: string; createdAt: string };
  };
  /** Entries beside the sessions, in all and by the kind of scope ("ctx", "handles", "privacy", ...). */
  entries: StoredAmount & { byKind: Record<string, StoredAmount> };
  /**
   * What this store object removed since it started: past their TTL (`expired`) or over a
   * capacity bound (`capacity`, the memory store's LRU). Redis expires keys by itself; its store
   * counts the dead index members it pruned.
   */
  evictions: { expired: number; capacity: number };
  /** The size bounds in force. */
  limits: { maxSessionBytes: number; maxEntryBytes: number; maxSessions?: number };
}

/** What one garbage collection removed. */
export interface SessionGcReport {
  /** Expired sessions removed. */
  sessions: number;
  /** Expired entries removed. */
  entries: number;
  /** Index members of sessions or entries that no longer exist, pruned. */
  indexMembers: number;
  durationMs: number;
}

/**
 * Sessions, with compare-and-set updates: `update(id, expectedVersion, next)` fails with
 * SESSION_CONFLICT when another writer got there first; re-read and try again. Executions take
 * a session's lease (`acquireLease`) so that they run one at a time and never overwrite each
 * other: a save carries the lease's fencing token and a stale one writes nothing.
 * Implementations: MemorySessionStore (core), @mcp-optimizer/sessions-redis.
 */
export interface SessionStore {
  /** Stable name for metrics and capability reports, e.g. "memory". */
  readonly kind: string;
  /** Keyed values beside the sessions (context, result handles, approvals, skills). */
  readonly entries: EntryStore;
  get(id: string): Promise<SessionRecord | undefined>;
  /** Fails with SESSION_EXISTS when the id is taken (and SESSION_LEASE_LOST for a stale `lease`). */
  create(input: SessionCreateInput, options?: SessionWriteOptions): Promise<SessionRecord>;
  /** Writes `next` when the stored version equals `expectedVersion`; returns the new record. */
  update(
    id: string,
    expectedVersion: number,
    next: SessionData,
    options?: SessionWriteOptions,
  ): Promise<SessionRecord>;
  /**
   * Waits for the session's turn, in order of arrival across every process sharing the store,
   * then grants it for `ttlMs` and reads the session in the same step. Fails with SESSION_BUSY
   * when the turn did not come within `waitMs`. The session need not exist.
   */
  acquireLease(id: string, options: SessionLeaseOptions): Promise<LeasedSession>;
  /** Extends a held lease by `ttlMs`; false when it lapsed (it may have been granted since). */
  renewLease(lease: SessionLease, ttlMs: number): Promise<boolean>;
  /** Gives the turn back; the next waiter gets it. Idempotent; a lapsed lease is ignored. */
  releaseLease(lease: SessionLease): Promise<void>;
  /** Slides the TTL (optionally to a new one); false when the session does not exist. */
  touch(id: string, ttlMs?: number): Promise<boolean>;
  delete(id: string): Promise<boolean>;
  list(tenant: string, options?: SessionListOptions): Promise<SessionListPage>;
  /** Hears about writes made elsewhere (other replicas), where the backend can tell. */
  subscribe?(listener: (change: SessionChange) => void): () => void;
  /** Reachability, for `capabilities`. */
  ping?(): Promise<void>;
  /** What the store holds (count, bytes, oldest, evictions), for `sessions stats` and metrics. */
  stats?(): Promise<SessionStoreStats>;
  /** Removes what has expired and prunes dead index members now (`sessions gc`). */
  gc?(): Promise<SessionGcReport>;
  close(): Promise<void>;
}
