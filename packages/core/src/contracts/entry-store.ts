import type { JsonValue } from "../json.js";

/**
 * One keyed value kept beside the sessions: a context entry of a principal, a result handle of
 * a session, a pending approval, a skill. Each key has its own version, so writers to
 * different keys never conflict and writers to one key compare-and-set.
 */
export interface StoredEntry {
  key: string;
  value: JsonValue;
  /** 1 on creation, +1 on every write of this key. */
  version: number;
  updatedAt: string;
  /** When the entry expires, if it has a TTL. */
  expiresAt?: string;
}

export interface EntryWriteOptions {
  /** Time to live in ms; absent keeps no expiry (or the entry's current one on an update). */
  ttlMs?: number;
  /** Write only if the entry's version is this (0: only if it does not exist); else ENTRY_CONFLICT. */
  expectedVersion?: number;
  /**
   * Refuse the write (ENTRY_SCOPE_FULL) when the scope's live entries would then hold more
   * bytes or entries than this; checked and written in one atomic step, across every process
   * sharing the store. Default: no limit.
   */
  scopeLimits?: EntryScopeLimits;
}

/** Caps on what one scope holds, all its live entries together. */
export interface EntryScopeLimits {
  /** Bytes of the entries' JSON. */
  maxBytes: number;
  /** Number of entries. */
  maxEntries: number;
}

export interface EntryListOptions {
  /** Only keys that start with this. Default: all. */
  prefix?: string;
  /** Opaque cursor from a previous page. */
  cursor?: string;
  /** Page size; stores cap it at 1000. Default 100. */
  limit?: number;
}

export interface EntryPage {
  entries: StoredEntry[];
  cursor?: string;
}

/** What a scope holds, for cache management (`sessions stats`). */
export interface EntryScopeStats {
  entries: number;
  bytes: number;
}

/**
 * Keyed JSON values grouped in scopes ("ctx:<tenant>:<principal>", "handles:<session>"),
 * written one key at a time, atomically, with a version per key and an optional TTL. Both
 * session stores provide one as `SessionStore.entries`; `describeEntryStore()` checks it.
 * Keys and scopes are 1-256 characters without control characters; values are JSON within the
 * store's size limit (ENTRY_TOO_LARGE).
 */
export interface EntryStore {
  get(scope: string, key: string): Promise<StoredEntry | undefined>;
  set(
    scope: string,
    key: string,
    value: JsonValue,
    options?: EntryWriteOptions,
  ): Promise<StoredEntry>;
  /** True when something was deleted; with `expectedVersion`, only that version is deleted. */
  delete(scope: string, key: string, options?: { expectedVersion?: number }): Promise<boolean>;
  /** Entries of a scope in key order, page by page. */
  list(scope: string, options?: EntryListOptions): Promise<EntryPage>;
  /** Count and bytes of a scope's live entries. */
  stats(scope: string): Promise<EntryScopeStats>;
}
