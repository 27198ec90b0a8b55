import { createHash } from "node:crypto";
import type { EntryScopeStats, EntryStore, StoredEntry } from "../contracts/entry-store.js";
import { ErrorCodes, hasErrorCode, OptimizerError } from "../errors.js";
import type { JsonValue } from "../json.js";
import { assertEntryName } from "../sessions/entry-rules.js";

/** Whose context: a principal (a user or a client), within a tenant. */
export interface ContextScope {
  /** The user or client the context belongs to, e.g. a token's `sub`. */
  principal: string;
  /** The tenant the principal belongs to. Default: the optimizer's default tenant ("default"). */
  tenant?: string;
}

/** One key of a principal's context, as read. */
export interface ContextEntry {
  key: string;
  value: JsonValue;
  /** 1 on creation, +1 on every write of this key. */
  version: number;
  updatedAt: string;
  expiresAt?: string;
}

export interface ContextSetOptions {
  /** Time to live in ms, from this write. Default: the context's `ttlMs`. */
  ttl?: number;
}

/** What `update` did: written, or the conflict it reports instead of overwriting. */
export type ContextUpdateResult =
  | { ok: true; version: number }
  | {
      ok: false;
      /** The value there now (undefined: the key does not exist). */
      current: JsonValue | undefined;
      /** Its version (0: the key does not exist). */
      version: number;
    };

/** The context's size caps and default TTL. */
export interface ContextLimits {
  /** Bytes (of JSON) one principal's context may hold, all keys together. Default 1 MiB. */
  maxBytes?: number;
  /** Keys one principal's context may hold. Default 1000. */
  maxEntries?: number;
  /** Time to live of an entry from its last write, in ms; 0 keeps entries until deleted. Default 30 days. */
  ttlMs?: number;
}

export interface PrincipalContextOptions extends ContextLimits {
  /** Where entries live: the session store's `entries`. */
  entries: EntryStore;
  /** The tenant. */
  tenant: string;
  /** The principal. */
  principal: string;
}

export const DEFAULT_CONTEXT_MAX_BYTES = 1024 * 1024;
export const DEFAULT_CONTEXT_MAX_ENTRIES = 1000;
export const DEFAULT_CONTEXT_TTL_MS = 30 * 24 * 60 * 60 * 1000;
/** Entries one `list()` returns at most (the entry cap bounds a context anyway). */
const LIST_LIMIT = 1000;

/**
 * The entry-store scope of a principal's context: `ctx:<tenant>:<principal>`, both parts
 * URI-encoded so that no tenant or principal can name another's scope; a scope that would be
 * over the store's 256 characters takes a digest of the principal instead.
 */
export function contextScope(tenant: string, principal: string): string {
  assertScopePart("tenant", tenant);
  assertScopePart("principal", principal);
  const scope = `ctx:${encodeURIComponent(tenant)}:${encodeURIComponent(principal)}`;
  if (scope.length <= 256) return scope;
  const digest = createHash("sha256").update(principal).digest("base64url");
  return `ctx:${encodeURIComponent(tenant).slice(0, 200)}:#${digest}`;
}

/**
 * A principal's context: keyed JSON values shared by all of that principal's sessions,
 * written one key at a time with a version per key (`SessionStore.entries` underneath), so
 * that sessions running at once never lose each other's writes. `update` is a compare-and-set
 * on the value: it writes only when the key still holds what the caller expects, and reports
 * the conflict otherwise. Writes past `maxBytes` or `maxEntries` fail with CONTEXT_TOO_LARGE.
 */
export interface PrincipalContext {
  readonly tenant: string;
  readonly principal: string;
  /** The value of a key, or undefined. */
  get(key: string): Promise<JsonValue | undefined>;
  /** The value with its version and times, or undefined. */
  entry(key: string): Promise<ContextEntry | undefined>;
  /** Writes a key (last writer wins); resolves to what was stored. */
  set(key: string, value: JsonValue, options?: ContextSetOptions): Promise<ContextEntry>;
  /** True when the key existed. */
  delete(key: string): Promise<boolean>;
  /** Entries whose keys start with `prefix` (all by default), in key order. */
  list(prefix?: string): Promise<ContextEntry[]>;
  /**
   * Writes `next` only when the key holds `expected` (undefined: only when it does not exist);
   * otherwise writes nothing and reports what is there.
   */
  update(
    key: string,
    expected: JsonValue | undefined,
    next: JsonValue,
    options?: ContextSetOptions,
  ): Promise<ContextUpdateResult>;
  /** Keys and bytes held. */
  stats(): Promise<EntryScopeStats>;
}

export function createPrincipalContext(options: PrincipalContextOptions): PrincipalContext {
  const { entries, tenant, principal } = options;
  const scope = contextScope(tenant, principal);
  const { maxBytes, maxEntries, ttlMs: defaultTtl } = resolveContextLimits(options);

  const ttlOf = (set: ContextSetOptions | undefined): number | undefined => {
    const ttl = set?.ttl;
    if (ttl === undefined) return defaultTtl === 0 ? undefined : defaultTtl;
    if (!Number.isInteger(ttl) || ttl < 1) {
      throw new OptimizerError(
        ErrorCodes.INVALID_INPUT,
        `A context TTL is a positive integer of milliseconds, e.g. { ttl: 86400000 } for a day; got ${JSON.stringify(ttl)}.`,
      );
    }
    return ttl;
  };

  // The store checks the caps and writes in one atomic step, so writers in every process
  // sharing it (replicas on one Redis) together never take the context past a cap.
  const write = async (
    key: string,
    value: JsonValue,
    set: ContextSetOptions | undefined,
    expectedVersion: number | undefined,
  ): Promise<StoredEntry> => {
    const ttlMs = ttlOf(set);
    try {
      return await entries.set(scope, key, value, {
        ...(ttlMs !== undefined ? { ttlMs } : {}),
        ...(expectedVersion !== undefined ? { expectedVersion } : {}),
        scopeLimits: { maxBytes, maxEntries },
      });
    } catch (error) {
      if (!hasErrorCode(error, ErrorCodes.ENTRY_SCOPE_FULL)) throw error;
      const { cap, would } = (error as OptimizerError).details as { cap: string; would: number };
      throw cap === "bytes"
        ? capError("context.maxBytes", maxBytes, would, key, principal, "bytes")
        : capError("context.maxEntries", maxEntries, would, key, principal, "keys");
    }
  };

  return {
    tenant,
    principal,
    async get(key) {
      assertEntryName("key", key);
      return (await entries.get(scope, key))?.value;
    },
    async entry(key) {
      assertEntryName("key", key);
      return entries.get(scope, key);
    },
    async set(key, value, set) {
      assertEntryName("key", key);
      assertJson(key, value);
      return write(key, value, set, undefined);
    },
    async delete(key) {
      assertEntryName("key", key);
      return entries.delete(scope, key);
    },
    async list(prefix = "") {
      if (typeof prefix !== "string") {
        throw new OptimizerError(ErrorCodes.INVALID_INPUT, "A context prefix is a string.");
      }
      const out: ContextEntry[] = [];
      let cursor: string | undefined;
      do {
        const page = await entries.list(scope, {
          prefix,
          limit: LIST_LIMIT,
          ...(cursor ? { cursor } : {}),
        });
        out.push(...page.entries);
        cursor = page.cursor;
      } while (cursor && out.length < LIST_LIMIT);
      return out.slice(0, LIST_LIMIT);
    },
    async update(key, expected, next, set) {
      assertEntryName("key", key);
      assertJson(key, next);
      const current = await entries.get(scope, key);
      const conflict = (now: StoredEntry | undefined): ContextUpdateResult => ({
        ok: false,
        current: now?.value,
        version: now?.version ?? 0,
      });
      if (!sameJson(current?.value, expected)) return conflict(current);
      try {
        const written = await write(key, next, set, current?.version ?? 0);
        return { ok: true, version: written.version };
      } catch (error) {
        // Another session wrote between the read and this write: report it, overwrite nothing.
        if (!hasErrorCode(error, ErrorCodes.ENTRY_CONFLICT)) throw error;
        return conflict(await entries.get(scope, key));
      }
    },
    stats: () => entries.stats(scope),
  };
}

/** The limits with their defaults; INVALID_CONFIG naming the setting when one is wrong. */
export function resolveContextLimits(limits: ContextLimits): Required<ContextLimits> {
  return {
    maxBytes: checkedLimit(limits.maxBytes ?? DEFAULT_CONTEXT_MAX_BYTES, "maxBytes", 1),
    maxEntries: checkedLimit(limits.maxEntries ?? DEFAULT_CONTEXT_MAX_ENTRIES, "maxEntries", 1),
    ttlMs: checkedLimit(limits.ttlMs ?? DEFAULT_CONTEXT_TTL_MS, "ttlMs", 0),
  };
}

function capError(
  cap: string,
  limit: number,
  would: number,
  key: string,
  principal: string,
  unit: string,
): OptimizerError {
  return new OptimizerError(
    ErrorCodes.CONTEXT_TOO_LARGE,
    `Writing context key "${key}" would take ${principal}'s context to ${would} ${unit}, over its cap of ${limit} (${cap}); delete keys it no longer needs, or raise ${cap}.`,
    { details: { cap, limit, would, key } },
  );
}

function assertScopePart(what: string, value: unknown): asserts value is string {
  if (typeof value !== "string" || value.length === 0 || value.length > 256) {
    throw new OptimizerError(
      ErrorCodes.INVALID_INPUT,
      `A context ${what} is a string of 1-256 characters; got ${JSON.stringify(value)?.slice(0, 80)}.`,
    );
  }
}

function assertJson(key: string, value: unknown): void {
  if (value === undefined) {
    throw new OptimizerError(
      ErrorCodes.INVALID_INPUT,
      `Context key "${key}" needs a JSON value; to remove it, delete it.`,
    );
  }
}

function checkedLimit(value: number, name: string, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw new OptimizerError(
      ErrorCodes.INVALID_CONFIG,
      `context.${name} is an integer of at least ${min}; got ${JSON.stringify(value)}.`,
    );
  }
  return value;
}

/** Deep equality of two JSON values, whatever the order of object keys. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a === null || b === null) return false;
  if (typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    return a.length === other.length && a.every((v, i) => sameJson(v, other[i]));
  }
  const ak = Object.keys(a as object);
  const bk = Object.keys(b as object);
  if (ak.length !== bk.length) return false;
  return ak.every(
    (k) =>
      Object.hasOwn(b as object, k) &&
      sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
  );
}
