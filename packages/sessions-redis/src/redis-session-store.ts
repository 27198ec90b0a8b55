import { randomUUID } from "node:crypto";
import {
  assertLeaseOptions,
  assertSessionId,
  busyError,
  ErrorCodes,
  type LeasedSession,
  leaseLostError,
  newSessionData,
  newSessionRecord,
  OptimizerError,
  SESSION_LOG_LIMIT,
  type SessionChange,
  type SessionCreateInput,
  type SessionData,
  type SessionGcReport,
  type SessionLease,
  type SessionLeaseOptions,
  type SessionListOptions,
  type SessionListPage,
  type SessionRecord,
  type SessionStore,
  type SessionStoreStats,
  type SessionSummary,
  type SessionWriteOptions,
} from "@mcp-optimizer/core";
import { Cluster } from "ioredis";
import {
  acquireLeaseScript,
  createScript,
  deleteScript,
  indexScript,
  type LuaScript,
  leaveLineScript,
  pruneScript,
  readIfChangedScript,
  releaseLeaseScript,
  renewLeaseScript,
  touchScript,
  updateScript,
} from "./lua-scripts.js";
import { connectRedis, duplicateForSubscriber, type RedisClient } from "./redis-connection.js";
import { RedisEntryStore } from "./redis-entry-store.js";
import { describeAddress } from "./redis-errors.js";
import { RedisGuard } from "./redis-guard.js";
import type { RedisSessionStoreOptions } from "./redis-session-store-options.js";
import { collectGarbage, scanStats } from "./redis-store-stats.js";
import { SessionCache } from "./session-cache.js";
import { decodeSessionData, encodeSessionData } from "./session-encoding.js";
import { SessionKeys } from "./session-keys.js";

type Arg = string | number | Buffer;
/** The two commands the store sends; both ioredis Redis and Cluster have them. */
interface Caller {
  call(command: string, ...args: Arg[]): Promise<unknown>;
  callBuffer(command: string, ...args: Arg[]): Promise<unknown>;
}

const FIELDS = ["v", "t", "c", "u", "x", "l", "d"] as const;
/** A waiter that has not asked for this long leaves a session's line (it crashed or gave up). */
const LINE_STALE_MS = 5000;
/** Longest pause between a waiter's asks; a release on another replica wakes it sooner. */
const MAX_ASK_INTERVAL_MS = 100;
/** The value of a lease key: "token holder". */
const leaseValue = (lease: SessionLease) => `${lease.token} ${lease.holder}`;
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Sessions in Redis. One hash per session (`<prefix>s:{<id>}`: version, tenant, times, TTL and
 * the encoded data), a sliding PEXPIRE, and Lua scripts that check the version and write in
 * one step. Tenants are listed from a sorted set per tenant, checked against the sessions.
 */
export class RedisSessionStore implements SessionStore {
  readonly kind = "redis";
  readonly entries: RedisEntryStore;
  /** The ioredis client (yours when you passed `client`). */
  readonly client: RedisClient;
  private readonly caller: Caller;
  private readonly owned: boolean;
  private readonly keys: SessionKeys;
  private readonly clustered: boolean;
  private readonly origin = randomUUID();
  /** Where the store points, for messages (host:port, never credentials). */
  private readonly address: string;
  private readonly maxSessionBytes: number;
  private readonly compressAboveBytes: number;
  private readonly connectTimeoutMs: number;
  private readonly commandTimeoutMs: number;
  private readonly listeners = new Set<(change: SessionChange) => void>();
  /** Waiters for a session's turn by waiter id, woken when a lease of it is given back. */
  private readonly leaseWaiters = new Map<string, Map<string, () => void>>();
  private readonly cache: SessionCache | undefined;
  private readonly trustCache: boolean;
  private subscriber: RedisClient | undefined;
  private subscribed = false;
  private readonly guard: RedisGuard;
  private closed = false;
  /** Index members of sessions Redis expired, pruned by this store (its evictions count). */
  private pruned = 0;

  constructor(options: RedisSessionStoreOptions) {
    this.keys = new SessionKeys(options.prefix ?? "mcpo:");
    this.address = describeAddress(options);
    this.maxSessionBytes = positive(options.maxSessionBytes ?? 1024 * 1024, "maxSessionBytes");
    this.compressAboveBytes = positive(options.compressAboveBytes ?? 4096, "compressAboveBytes");
    this.connectTimeoutMs = positive(options.connectTimeoutMs ?? 2000, "connectTimeoutMs");
    this.commandTimeoutMs = positive(options.commandTimeoutMs ?? 5000, "commandTimeoutMs");
    const invalidation = options.invalidation ?? true;
    if (options.cache && !invalidation) {
      throw new OptimizerError(
        ErrorCodes.INVALID_CONFIG,
        "A session cache needs invalidation: without it a replica would serve stale sessions.",
      );
    }
    const cache = options.cache === true ? {} : options.cache || undefined;
    if (cache)
      this.cache = new SessionCache(positive(cache.maxEntries ?? 1000, "cache.maxEntries"));
    const consistency = cache?.consistency ?? "strong";
    if (consistency !== "strong" && consistency !== "eventual") {
      throw new OptimizerError(
        ErrorCodes.INVALID_CONFIG,
        `cache.consistency is "strong" or "eventual"; got ${JSON.stringify(consistency)}.`,
      );
    }
    this.trustCache = consistency === "eventual";
    const { client, owned } = connectRedis(options);
    this.client = client;
    this.owned = owned;
    this.caller = client as unknown as Caller;
    this.clustered = client instanceof Cluster;
    this.guard = new RedisGuard(client, {
      label: "Session store",
      address: this.address,
      connectTimeoutMs: this.connectTimeoutMs,
      commandTimeoutMs: this.commandTimeoutMs,
    });
    if (invalidation) this.listen();
    this.entries = new RedisEntryStore({
      keys: this.keys,
      op: (what, work) => this.op(what, work),
      eval: (script, keys, args) => this.eval(script, keys, args),
      call: (command, ...args) => this.caller.call(command, ...args),
      ...(options.maxEntryBytes ? { maxEntryBytes: options.maxEntryBytes } : {}),
    });
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    assertSessionId(id);
    const cached = this.cacheUsable() ? this.cache!.get(id) : undefined;
    if (cached && this.trustCache) return cached;
    const generation = this.cache?.generation ?? 0;
    const what = `get of "${id}"`;
    const key = this.keys.session(id);
    const row = await this.op(what, () =>
      cached
        ? this.eval(
            readIfChangedScript,
            [key],
            [cached.version, Date.parse(cached.expiresAt), cached.ttlMs],
          )
        : this.caller.callBuffer("HMGET", key, ...FIELDS),
    );
    if (row === 1 && cached) return cached;
    const record = await this.parseRow(id, row as (Buffer | null)[]);
    if (record && this.cacheUsable()) this.cache!.put(record, generation);
    return record;
  }

  async create(
    input: SessionCreateInput,
    options: SessionWriteOptions = {},
  ): Promise<SessionRecord> {
    const record = newSessionRecord(structuredClone(input));
    const { blob, json } = await this.encode(record.id, record);
    const key = this.keys.session(record.id);
    const fence = this.keys.fence(record.id);
    const index = this.keys.tenant(record.tenant);
    const token = options.lease ? String(options.lease.token) : "";
    const fields: Arg[] = [
      "v",
      1,
      "t",
      record.tenant,
      "c",
      Date.parse(record.createdAt),
      "u",
      Date.parse(record.updatedAt),
      "x",
      Date.parse(record.expiresAt),
      "l",
      record.ttlMs,
      "d",
      blob,
    ];
    const created = await this.op(`create of "${record.id}"`, async () => {
      if (!this.clustered) {
        return this.eval(
          createScript,
          [key, fence, index],
          [record.id, record.ttlMs, token, ...fields],
        );
      }
      // The index lives in another slot: add it first so a listing never misses a session,
      // and again after, in case a concurrent listing pruned it as not yet created.
      await this.eval(indexScript, [index], [record.id, record.ttlMs]);
      const result = await this.eval(
        createScript,
        [key, fence],
        [record.id, record.ttlMs, token, ...fields],
      );
      if (result === 1) await this.eval(indexScript, [index], [record.id, record.ttlMs]);
      return result;
    });
    if (created === -3) throw leaseLostError(record.id);
    if (created !== 1) {
      throw new OptimizerError(ErrorCodes.SESSION_EXISTS, `Session "${record.id}" already exists.`);
    }
    if (options.release && options.lease) await this.releaseLease(options.lease);
    const stored = { ...record, ...this.parsed(record.tenant, json) };
    this.cache?.put(stored);
    return stored;
  }

  async update(
    id: string,
    expectedVersion: number,
    next: SessionData,
    options: SessionWriteOptions = {},
  ): Promise<SessionRecord> {
    assertSessionId(id);
    if (!Number.isInteger(expectedVersion) || expectedVersion < 1) {
      throw new OptimizerError(
        ErrorCodes.INVALID_INPUT,
        `expectedVersion is a positive integer; got ${expectedVersion}.`,
      );
    }
    const data = { ...newSessionData(next), log: (next.log ?? []).slice(-SESSION_LOG_LIMIT) };
    if (typeof data.tenant !== "string" || data.tenant === "") {
      throw new OptimizerError(
        ErrorCodes.INVALID_INPUT,
        "A session's tenant is a non-empty string.",
      );
    }
    const { blob, json } = await this.encode(id, data);
    const key = this.keys.session(id);
    const index = this.keys.tenant(data.tenant);
    const now = Date.now();
    const { lease } = options;
    if (lease && lease.sessionId !== id) throw leaseLostError(id);
    const args: Arg[] = [
      id,
      expectedVersion,
      now,
      data.tenant,
      blob,
      this.keys.channel,
      this.origin,
      lease ? String(lease.token) : "",
      lease && options.release ? leaseValue(lease) : "",
    ];
    const keys = [key, this.keys.fence(id), this.keys.lease(id), this.keys.line(id)];
    const result = (await this.op(`update of "${id}"`, async () => {
      const reply = (await this.eval(
        updateScript,
        this.clustered ? keys : [...keys, index],
        args,
      )) as unknown[];
      if (this.clustered && typeof reply[0] === "number" && reply[0] > 0) {
        await this.eval(indexScript, [index], [id, Number(reply[2])]);
      }
      return reply;
    })) as [number, unknown?, unknown?, unknown?, unknown?];
    const status = Number(result[0]);
    if (status === -1) {
      this.cache?.drop(id);
      throw new OptimizerError(
        ErrorCodes.SESSION_NOT_FOUND,
        `No session "${id}" (it may have expired).`,
      );
    }
    if (status === -2) throw this.corrupt(id, "its version or TTL is missing");
    if (status === -3) throw leaseLostError(id);
    if (status === 0) {
      // The cached copy (if any) is what lost: the caller's re-read must go to Redis.
      this.cache?.drop(id);
      const actualVersion = Number(result[1]);
      throw new OptimizerError(
        ErrorCodes.SESSION_CONFLICT,
        `Session "${id}" changed (version ${actualVersion}, expected ${expectedVersion}); re-read it and try again.`,
        { details: { expectedVersion, actualVersion } },
      );
    }
    const ttlMs = Number(result[2]);
    const record: SessionRecord = {
      ...this.parsed(data.tenant, json),
      id,
      version: status,
      createdAt: iso(Number(result[1])),
      updatedAt: iso(now),
      ttlMs,
      expiresAt: iso(now + ttlMs),
    };
    this.cache?.drop(id);
    this.cache?.put(record);
    this.emit({ id, version: status });
    if (lease && options.release) this.wakeLeaseWaiter(id, String(result[4] ?? ""));
    return record;
  }

  async acquireLease(id: string, options: SessionLeaseOptions): Promise<LeasedSession> {
    assertSessionId(id);
    assertLeaseOptions(options);
    const deadline = Date.now() + options.waitMs;
    const waiter = randomUUID();
    const holder = randomUUID();
    const keys = [
      this.keys.lease(id),
      this.keys.line(id),
      this.keys.lineSeen(id),
      this.keys.fence(id),
      this.keys.session(id),
    ];
    // Listening before asking: a release between the ask and the wait still wakes this waiter.
    const woken = this.listenForRelease(id, waiter);
    try {
      let arrival = "";
      for (let pause = 2; ; pause = Math.min(pause * 2, MAX_ASK_INTERVAL_MS)) {
        const granted = await this.askForLease(id, keys, waiter, holder, options.ttlMs, arrival);
        if (granted.lease) return { lease: granted.lease, record: granted.record };
        arrival = granted.arrival;
        const left = deadline - Date.now();
        if (left <= 0) {
          await this.op(`leaving the line of "${id}"`, () =>
            this.eval(leaveLineScript, [keys[1]!, keys[2]!], [waiter]),
          ).catch(() => {});
          throw busyError(id, options.waitMs);
        }
        // The holder's lease lapses in `busyFor` ms at the latest; a release wakes us sooner.
        const busyFor = granted.busyFor > 0 ? granted.busyFor : pause;
        await woken.next(Math.min(pause, busyFor, left));
      }
    } finally {
      woken.stop();
    }
  }

  async renewLease(lease: SessionLease, ttlMs: number): Promise<boolean> {
    assertLeaseOptions({ ttlMs, waitMs: 0 });
    const renewed = await this.op(`lease renewal of "${lease.sessionId}"`, () =>
      this.eval(renewLeaseScript, [this.keys.lease(lease.sessionId)], [leaseValue(lease), ttlMs]),
    );
    return Number(renewed) === 1;
  }

  async releaseLease(lease: SessionLease): Promise<void> {
    const id = lease.sessionId;
    const reply = (await this.op(`lease release of "${id}"`, () =>
      this.eval(
        releaseLeaseScript,
        [this.keys.lease(id), this.keys.line(id)],
        [leaseValue(lease), id, this.keys.channel, this.origin],
      ),
    )) as unknown[];
    if (Number(reply[0]) === 1) this.wakeLeaseWaiter(id, String(reply[1] ?? ""));
  }

  async touch(id: string, ttlMs?: number): Promise<boolean> {
    assertSessionId(id);
    if (ttlMs !== undefined && (!Number.isInteger(ttlMs) || ttlMs < 1)) {
      throw new OptimizerError(
        ErrorCodes.INVALID_INPUT,
        `A session TTL is a positive integer of milliseconds; got ${ttlMs}.`,
      );
    }
    const key = this.keys.session(id);
    const result = (await this.op(`touch of "${id}"`, async () => {
      const args = [id, Date.now(), ttlMs ?? "", this.keys.channel, this.origin];
      const reply = (await this.eval(touchScript, [key], args)) as unknown[];
      if (Number(reply[0]) === 1) {
        // The tenant is only known now: the index is refreshed by a second short script.
        const index = this.keys.tenant(String(reply[2]));
        await this.eval(indexScript, [index], [id, Number(reply[1])]);
      }
      return reply;
    })) as unknown[];
    this.cache?.drop(id);
    return Number(result[0]) === 1;
  }

  async delete(id: string): Promise<boolean> {
    assertSessionId(id);
    const key = this.keys.session(id);
    const n = await this.op(`delete of "${id}"`, () =>
      this.eval(deleteScript, [key], [id, this.keys.channel, this.origin]),
    );
    this.cache?.drop(id);
    if (n === 1) this.emit({ id, version: null });
    return n === 1;
  }

  async list(tenant: string, options: SessionListOptions = {}): Promise<SessionListPage> {
    if (typeof tenant !== "string" || tenant === "") {
      throw new OptimizerError(ErrorCodes.INVALID_INPUT, "list() needs a tenant name.");
    }
    if (options.cursor !== undefined) assertSessionId(options.cursor);
    const limit = Math.min(Math.max(Math.trunc(options.limit ?? 100), 1), 1000);
    const index = this.keys.tenant(tenant);
    return this.op(`list of tenant "${tenant}"`, async () => {
      const sessions: SessionSummary[] = [];
      const stale: string[] = [];
      let from = options.cursor ? `(${options.cursor}` : "-";
      // One more than the page, to know whether there is a next page.
      while (sessions.length <= limit) {
        const want = limit + 1 - sessions.length + stale.length;
        const ids = (await this.caller.call(
          "ZRANGE",
          index,
          from,
          "+",
          "BYLEX",
          "LIMIT",
          0,
          want,
        )) as string[];
        if (ids.length === 0) break;
        const rows = await Promise.all(
          ids.map((sid) =>
            (
              this.caller.call("HMGET", this.keys.session(sid), "v", "t", "u", "x") as Promise<
                (string | null)[]
              >
            ).catch((error: unknown) => {
              // A key that is not a session (WRONGTYPE) is left out, not fatal to the listing.
              if (error instanceof Error && /WRONGTYPE/.test(error.message)) return undefined;
              throw error;
            }),
          ),
        );
        for (const [i, sid] of ids.entries()) {
          const row = rows[i];
          if (!row) continue;
          const [v, t, u, x] = row;
          if (v == null || t !== tenant || u == null || x == null) {
            stale.push(sid);
            continue;
          }
          if (sessions.length <= limit) {
            sessions.push({
              id: sid,
              tenant,
              version: Number(v),
              updatedAt: iso(Number(u)),
              expiresAt: iso(Number(x)),
            });
          }
        }
        from = `(${ids[ids.length - 1]}`;
        if (ids.length < want) break;
      }
      // Entries of expired, deleted or moved sessions: prune them as we pass.
      if (stale.length > 0) {
        if (this.clustered) {
          // Across slots: a session created meanwhile is re-indexed by its next write.
          this.pruned += Number(await this.caller.call("ZREM", index, ...stale));
        } else {
          const keys = stale.map((sid) => this.keys.session(sid));
          this.pruned += Number(await this.eval(pruneScript, [index, ...keys], [tenant, ...stale]));
        }
      }
      if (sessions.length > limit) {
        sessions.length = limit;
        return { sessions, cursor: sessions[limit - 1]!.id };
      }
      return { sessions };
    });
  }

  subscribe(listener: (change: SessionChange) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  async ping(): Promise<void> {
    await this.op("ping", () => this.caller.call("PING"));
  }

  async stats(): Promise<SessionStoreStats> {
    const { sessions, entries } = await scanStats(this.scanBackend());
    return {
      kind: this.kind,
      sessions,
      entries,
      // Redis expires keys by itself; what this store saw of it is the dead index members it pruned.
      evictions: { expired: this.pruned, capacity: 0 },
      limits: { maxSessionBytes: this.maxSessionBytes, maxEntryBytes: this.entries.maxBytes },
    };
  }

  async gc(): Promise<SessionGcReport> {
    const started = performance.now();
    const { indexMembers } = await collectGarbage(this.scanBackend());
    this.pruned += indexMembers;
    return {
      sessions: 0,
      entries: 0,
      indexMembers,
      durationMs: Math.round((performance.now() - started) * 100) / 100,
    };
  }

  private scanBackend() {
    return {
      client: this.client,
      keys: this.keys,
      op: <T>(what: string, work: () => Promise<T>) => this.op(what, work),
      eval: (script: LuaScript, keys: string[], args: Arg[]) => this.eval(script, keys, args),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    this.cache?.clear();
    // A client you passed outlives the store: leave no listener of ours on it.
    this.guard.close();
    const quits: Promise<unknown>[] = [];
    if (this.subscriber) quits.push(quit(this.subscriber));
    if (this.owned) quits.push(quit(this.client));
    await Promise.all(quits);
  }

  /** Whether the invalidation channel is subscribed now (the cache is only used then). */
  get listening(): boolean {
    return this.subscribed;
  }

  /** Sessions held in the in-memory cache. */
  get cachedSessions(): number {
    return this.cache?.size ?? 0;
  }

  /** One ask for the turn: granted (with the session), or how long the holder may keep it. */
  private async askForLease(
    id: string,
    keys: string[],
    waiter: string,
    holder: string,
    ttlMs: number,
    arrival: string,
  ): Promise<
    | { lease: SessionLease; record: SessionRecord | undefined; busyFor?: undefined }
    | { lease?: undefined; busyFor: number; arrival: string }
  > {
    const cached = this.cacheUsable() ? this.cache!.get(id) : undefined;
    const generation = this.cache?.generation ?? 0;
    const cachedArgs = cached
      ? [cached.version, Date.parse(cached.expiresAt), cached.ttlMs]
      : ["", "", ""];
    const reply = (await this.op(`lease of "${id}"`, () =>
      this.eval(acquireLeaseScript, keys, [
        waiter,
        holder,
        ttlMs,
        LINE_STALE_MS,
        ...cachedArgs,
        arrival,
      ]),
    )) as unknown[];
    if (Number(reply[0]) !== 1)
      return { busyFor: Number(reply[1]), arrival: String(reply[2] ?? "") };
    const lease: SessionLease = { sessionId: id, token: Number(String(reply[1])), holder };
    if (Number(reply[2]) === 1 && cached) return { lease, record: cached };
    try {
      const record = await this.parseRow(id, reply.slice(3) as (Buffer | null)[]);
      if (record && this.cacheUsable()) this.cache!.put(record, generation);
      return { lease, record };
    } catch (error) {
      // The turn is ours, but a session we cannot read cannot be served: give it back.
      await this.releaseLease(lease).catch(() => {});
      throw error;
    }
  }

  /**
   * Wakes when a lease of `id` is given back while this waiter is first in line (here or on
   * another replica), or after `ms`.
   */
  private listenForRelease(
    id: string,
    waiter: string,
  ): { next(ms: number): Promise<void>; stop(): void } {
    let wake: (() => void) | undefined;
    let pending = false;
    const listener = () => {
      if (wake) wake();
      else pending = true;
    };
    let waiters = this.leaseWaiters.get(id);
    if (!waiters) {
      waiters = new Map();
      this.leaseWaiters.set(id, waiters);
    }
    waiters.set(waiter, listener);
    return {
      next: (ms) => {
        if (pending) {
          pending = false;
          return Promise.resolve();
        }
        return new Promise<void>((resolve) => {
          const timer = setTimeout(done, ms);
          function done() {
            clearTimeout(timer);
            wake = undefined;
            resolve();
          }
          wake = done;
        });
      },
      stop: () => {
        waiters.delete(waiter);
        if (waiters.size === 0 && this.leaseWaiters.get(id) === waiters)
          this.leaseWaiters.delete(id);
      },
    };
  }

  /** Wakes the waiter first in line, when it waits here ('' = nobody waits). */
  private wakeLeaseWaiter(id: string, waiter: string): void {
    if (waiter) this.leaseWaiters.get(id)?.get(waiter)?.();
  }

  private async parseRow(id: string, row: (Buffer | null)[]): Promise<SessionRecord | undefined> {
    if (row.every((b) => b === null)) return undefined;
    const [v, t, c, u, x, l, d] = row;
    const num = (b: Buffer | null | undefined) => (b ? Number(b.toString("latin1")) : Number.NaN);
    const version = num(v);
    const fields = [version, num(c), num(u), num(x), num(l)];
    if (!t || !d || fields.some((n) => !Number.isSafeInteger(n))) {
      throw this.corrupt(id, "a field is missing or not a number");
    }
    const tenant = t.toString("utf8");
    const data = await decodeSessionData(id, tenant, d);
    return {
      ...data,
      id,
      version,
      createdAt: iso(num(c)),
      updatedAt: iso(num(u)),
      ttlMs: num(l),
      expiresAt: iso(num(x)),
    };
  }

  private async encode(id: string, data: SessionData): Promise<{ blob: Buffer; json: string }> {
    return encodeSessionData(data, {
      id,
      maxSessionBytes: this.maxSessionBytes,
      compressAboveBytes: this.compressAboveBytes,
    });
  }

  /** The record's data as a reader will see it: exactly what JSON kept. */
  private parsed(tenant: string, json: string): SessionData {
    const [allow, state, files, snippets, log, counters] = JSON.parse(json) as unknown[];
    return { tenant, allow, state, files, snippets, log, counters } as SessionData;
  }

  private corrupt(id: string, why: string): OptimizerError {
    return new OptimizerError(
      ErrorCodes.SESSION_CORRUPT,
      `Session "${id}" is stored in a form this release cannot read (${why}); delete it or restore it from a backup.`,
      { details: { sessionId: id } },
    );
  }

  /** Runs Redis work under the package's fail-fast rules (RedisGuard). */
  private op<T>(what: string, work: () => Promise<T>): Promise<T> {
    return this.guard.run(what, work);
  }

  /** Runs a script by its SHA, sending its source once when the server does not know it. */
  private async eval(script: LuaScript, keys: string[], args: Arg[]): Promise<unknown> {
    // The read and lease scripts answer raw bytes (the encoded session); the others numbers and text.
    const binary = script === readIfChangedScript || script === acquireLeaseScript;
    const send = binary ? this.caller.callBuffer : this.caller.call;
    try {
      return await send.call(this.caller, "EVALSHA", script.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !/^NOSCRIPT/.test(error.message)) throw error;
      return send.call(this.caller, "EVAL", script.source, keys.length, ...keys, ...args);
    }
  }

  /** Subscribes to the deployment's channel; resubscribes (and forgets the cache) on reconnect. */
  private listen(): void {
    const sub = duplicateForSubscriber(this.client);
    this.subscriber = sub;
    const lost = () => {
      this.subscribed = false;
      // Messages may be missed while away: nothing cached can be trusted any more.
      this.cache?.clear();
    };
    const join = () => {
      (sub as unknown as { subscribe(channel: string): Promise<unknown> })
        .subscribe(this.keys.channel)
        .then(() => {
          if (this.closed) return;
          this.cache?.clear();
          this.subscribed = true;
        })
        .catch(lost);
    };
    sub.on("error", () => {});
    sub.on("close", lost);
    sub.on("end", lost);
    sub.on("reconnecting", lost);
    sub.on("ready", join);
    sub.on("message", (channel: string, message: string) => {
      if (channel === this.keys.channel) this.onMessage(message);
    });
    if (sub.status === "ready") join();
  }

  private onMessage(message: string): void {
    const [origin, version, id, waiter] = message.split(" ");
    if (!origin || !version || !id || origin === this.origin) return;
    // "L": a lease of the session was given back; its data did not change.
    if (version === "L") {
      this.wakeLeaseWaiter(id, waiter ?? "");
      return;
    }
    this.cache?.drop(id);
    this.emit({ id, version: version === "-" ? null : Number(version) });
  }

  private cacheUsable(): boolean {
    return this.cache !== undefined && this.subscribed && !this.closed;
  }

  private emit(change: SessionChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch {}
    }
  }
}

function positive(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new OptimizerError(
      ErrorCodes.INVALID_CONFIG,
      `${name} is a positive integer; got ${value}.`,
    );
  }
  return value;
}

async function quit(client: RedisClient): Promise<void> {
  if (client.status === "end") return;
  try {
    await Promise.race([
      client.quit(),
      new Promise((_, reject) => setTimeout(() => reject(new Error("quit timed out")), 1000)),
    ]);
  } catch {
    client.disconnect();
  }
}

export function createRedisSessionStore(options: RedisSessionStoreOptions): RedisSessionStore {
  return new RedisSessionStore(options);
}
