import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createPrincipalContext } from "../context/principal-context.js";
import type { SessionStore } from "../contracts/session-store.js";
import { ErrorCodes } from "../errors.js";
import { DEFAULT_MAX_ENTRY_BYTES } from "../sessions/entry-rules.js";
import { sessionData, updateSession } from "../sessions/session-data.js";

export interface DescribeSessionStoreOptions {
  /** Concurrent writers in the lost-update test. Default 50. */
  writers?: number;
  /** Per-test timeout for vitest, in ms. Default 30000. */
  testTimeoutMs?: number;
  /**
   * Whether two stores made by the factory share one backend, as replicas do (Redis: yes;
   * memory: no). When they do, the lease tests spread their contenders over two stores.
   * Default false.
   */
  shared?: boolean;
  /** The `maxSessionBytes` the factory's stores were made with: the kit saves one over it. Default: not checked. */
  maxSessionBytes?: number;
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The SessionStore conformance suite. Every store runs it against its real backend:
 * `describeSessionStore("redis", () => createRedisSessionStore({ url }))`.
 */
export function describeSessionStore(
  name: string,
  factory: () => SessionStore | Promise<SessionStore>,
  options: DescribeSessionStoreOptions = {},
): void {
  const timeout = options.testTimeoutMs ?? 30_000;
  const writers = options.writers ?? 50;
  // Ids are unique per run so a shared backend needs no cleanup between runs.
  const run = randomUUID().slice(0, 8);
  const id = (suffix: string) => `conf-${run}-${suffix}`;
  const tenant = (suffix: string) => `tenant-${run}-${suffix}`;

  describe(`SessionStore conformance: ${name}`, () => {
    let store: SessionStore;
    /** A second replica on the same backend, or the same store when the backend is not shared. */
    let peer: SessionStore;
    beforeAll(async () => {
      store = await factory();
      peer = options.shared ? await factory() : store;
    }, timeout);
    afterAll(async () => {
      await store?.close();
      if (peer !== store) await peer?.close();
    }, timeout);

    test(
      "creates a session with every field filled and version 1",
      async () => {
        const created = await store.create({
          id: id("create"),
          tenant: tenant("a"),
          state: { x: 1 },
        });
        expect(created).toMatchObject({
          id: id("create"),
          tenant: tenant("a"),
          version: 1,
          state: { x: 1 },
          allow: {},
          files: {},
          snippets: {},
          log: [],
          counters: { executions: 0, toolCalls: 0, tokensUsed: 0, tokensPlainMcp: 0, costUsd: 0 },
        });
        expect(Date.parse(created.expiresAt)).toBeGreaterThan(Date.now());
        expect(await store.get(id("create"))).toEqual(created);
      },
      timeout,
    );

    test(
      "refuses a second create of the same id with SESSION_EXISTS",
      async () => {
        await store.create({ id: id("dup") });
        await expect(store.create({ id: id("dup") })).rejects.toMatchObject({
          code: ErrorCodes.SESSION_EXISTS,
        });
      },
      timeout,
    );

    test(
      "answers undefined for a session that does not exist",
      async () => {
        expect(await store.get(id("missing"))).toBeUndefined();
      },
      timeout,
    );

    test(
      "rejects malformed ids with INVALID_INPUT",
      async () => {
        await expect(store.get("")).rejects.toMatchObject({ code: ErrorCodes.INVALID_INPUT });
        await expect(store.create({ id: "has space" })).rejects.toMatchObject({
          code: ErrorCodes.INVALID_INPUT,
        });
        await expect(store.get("x".repeat(500))).rejects.toMatchObject({
          code: ErrorCodes.INVALID_INPUT,
        });
      },
      timeout,
    );

    test(
      "updates with the right version and bumps it",
      async () => {
        const created = await store.create({ id: id("update") });
        const next = { ...sessionData(created), state: { step: 2 }, files: { "notes.md": "# hi" } };
        const updated = await store.update(id("update"), 1, next);
        expect(updated.version).toBe(2);
        expect(updated.state).toEqual({ step: 2 });
        expect(updated.files).toEqual({ "notes.md": "# hi" });
        expect(updated.createdAt).toBe(created.createdAt);
        expect(Date.parse(updated.updatedAt)).toBeGreaterThanOrEqual(Date.parse(created.updatedAt));
        expect(await store.get(id("update"))).toEqual(updated);
      },
      timeout,
    );

    test(
      "refuses a stale version with SESSION_CONFLICT and keeps the data",
      async () => {
        const created = await store.create({ id: id("stale"), state: { v: "first" } });
        await store.update(id("stale"), 1, { ...sessionData(created), state: { v: "second" } });
        await expect(
          store.update(id("stale"), 1, { ...sessionData(created), state: { v: "lost" } }),
        ).rejects.toMatchObject({ code: ErrorCodes.SESSION_CONFLICT });
        expect((await store.get(id("stale")))!.state).toEqual({ v: "second" });
      },
      timeout,
    );

    test(
      "refuses to update a session that does not exist with SESSION_NOT_FOUND",
      async () => {
        const created = await store.create({ id: id("gone") });
        await store.delete(id("gone"));
        await expect(store.update(id("gone"), 1, sessionData(created))).rejects.toMatchObject({
          code: ErrorCodes.SESSION_NOT_FOUND,
        });
      },
      timeout,
    );

    test(
      `loses no update under ${writers} concurrent writers`,
      async () => {
        await store.create({ id: id("race"), state: { n: 0 } });
        await Promise.all(
          Array.from({ length: writers }, () =>
            updateSession(
              store,
              id("race"),
              (data) => ({ ...data, state: { n: (data.state.n as number) + 1 } }),
              { attempts: writers * 4 },
            ),
          ),
        );
        const final = await store.get(id("race"));
        expect(final!.state).toEqual({ n: writers });
        expect(final!.version).toBe(writers + 1);
      },
      timeout,
    );

    test(
      "keeps JSON state, files, snippets and the log exactly",
      async () => {
        const state = {
          text: 'ünïcödé ✓ 🚀 "quotes" \n newline',
          numbers: [0, -1, 1.5, 1e21, Number.MAX_SAFE_INTEGER],
          nested: { deep: { deeper: [null, true, false, {}] } },
          empty: "",
        };
        const created = await store.create({
          id: id("json"),
          state,
          snippets: {
            top: { code: "return 1", description: "one", updatedAt: new Date(0).toISOString() },
          },
          log: [
            {
              executionId: "e1",
              at: new Date(0).toISOString(),
              kind: "run",
              code: "return 1",
              outcome: "ok",
              durationMs: 3,
              mode: "process",
              toolCalls: [{ server: "s", tool: "t", outcome: "ok", durationMs: 1 }],
              tokens: { used: 10, plainMcp: 1000 },
            },
          ],
        });
        expect(created.state).toEqual(state);
        const read = await store.get(id("json"));
        expect(read).toEqual(created);
      },
      timeout,
    );

    test(
      "expires a session after its TTL",
      async () => {
        await store.create({ id: id("ttl"), ttlMs: 1000 });
        expect(await store.get(id("ttl"))).toBeDefined();
        await wait(1600);
        expect(await store.get(id("ttl"))).toBeUndefined();
      },
      timeout,
    );

    test(
      "touch slides the TTL; touching a missing session answers false",
      async () => {
        await store.create({ id: id("touch"), ttlMs: 1500 });
        await wait(900);
        expect(await store.touch(id("touch"))).toBe(true);
        await wait(900);
        expect(await store.get(id("touch"))).toBeDefined();
        expect(await store.touch(id("touch-missing"))).toBe(false);
      },
      timeout,
    );

    test(
      "an update slides the TTL",
      async () => {
        const created = await store.create({ id: id("slide"), ttlMs: 1500 });
        await wait(900);
        await store.update(id("slide"), 1, sessionData(created));
        await wait(900);
        expect(await store.get(id("slide"))).toBeDefined();
      },
      timeout,
    );

    test(
      "deletes, and says whether there was something to delete",
      async () => {
        await store.create({ id: id("del") });
        expect(await store.delete(id("del"))).toBe(true);
        expect(await store.get(id("del"))).toBeUndefined();
        expect(await store.delete(id("del"))).toBe(false);
      },
      timeout,
    );

    test(
      "lists a tenant's sessions page by page, and only that tenant's",
      async () => {
        const ids = Array.from({ length: 23 }, (_, i) => id(`list-${String(i).padStart(2, "0")}`));
        await Promise.all(ids.map((sid) => store.create({ id: sid, tenant: tenant("list") })));
        await Promise.all(
          [1, 2].map((i) => store.create({ id: id(`other-${i}`), tenant: tenant("other") })),
        );
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await store.list(tenant("list"), {
            limit: 10,
            ...(cursor ? { cursor } : {}),
          });
          for (const s of page.sessions) {
            expect(s.tenant).toBe(tenant("list"));
            seen.push(s.id);
          }
          cursor = page.cursor;
          pages++;
        } while (cursor && pages < 20);
        expect(new Set(seen)).toEqual(new Set(ids));
        expect(seen.length).toBe(ids.length);
        const other = await store.list(tenant("other"));
        expect(other.sessions.map((s) => s.id).sort()).toEqual([id("other-1"), id("other-2")]);
        expect((await store.list(tenant("nobody"))).sessions).toEqual([]);
      },
      timeout,
    );

    test(
      "returned records are copies, not the stored objects",
      async () => {
        const created = await store.create({ id: id("copy"), state: { a: 1 } });
        (created.state as Record<string, unknown>).a = 999;
        expect((await store.get(id("copy")))!.state).toEqual({ a: 1 });
      },
      timeout,
    );

    describe("leases: one execution of a session at a time", () => {
      const lease = { ttlMs: 10_000, waitMs: 10_000 };

      test(
        "grants a free lease at once, reads the session in the same step, and tokens grow",
        async () => {
          const created = await store.create({ id: id("lease"), state: { a: 1 } });
          const first = await store.acquireLease(id("lease"), lease);
          expect(first.record).toEqual(created);
          expect(first.lease.sessionId).toBe(id("lease"));
          await store.releaseLease(first.lease);
          const second = await peer.acquireLease(id("lease"), lease);
          expect(second.lease.token).toBeGreaterThan(first.lease.token);
          expect(second.lease.holder).not.toBe(first.lease.holder);
          await peer.releaseLease(second.lease);
        },
        timeout,
      );

      test(
        "leases a session that does not exist yet; a create under the lease works",
        async () => {
          const { lease: held, record } = await store.acquireLease(id("lease-new"), lease);
          expect(record).toBeUndefined();
          const created = await store.create({ id: id("lease-new") }, { lease: held });
          expect(created.version).toBe(1);
          await store.releaseLease(held);
        },
        timeout,
      );

      test(
        "waiters get the turn in order of arrival, each when the one before releases",
        async () => {
          await store.create({ id: id("lease-order") });
          const first = await store.acquireLease(id("lease-order"), lease);
          const order: number[] = [];
          const waiters = [];
          for (let i = 0; i < 4; i++) {
            const s = i % 2 === 0 ? peer : store;
            waiters.push(
              s.acquireLease(id("lease-order"), lease).then(async (got) => {
                order.push(i);
                await wait(20);
                await s.releaseLease(got.lease);
              }),
            );
            // Arrival order is what the test checks: let each waiter reach the queue.
            await wait(100);
          }
          expect(order).toEqual([]);
          await store.releaseLease(first.lease);
          await Promise.all(waiters);
          expect(order).toEqual([0, 1, 2, 3]);
        },
        timeout,
      );

      test(
        "fails with SESSION_BUSY after waitMs, saying how long it waited; the queue goes on",
        async () => {
          const held = await store.acquireLease(id("lease-busy"), lease);
          const started = Date.now();
          const error = await peer
            .acquireLease(id("lease-busy"), { ttlMs: 10_000, waitMs: 300 })
            .then(
              () => undefined,
              (e: unknown) => e,
            );
          expect(error).toMatchObject({ code: ErrorCodes.SESSION_BUSY });
          expect((error as Error).message).toMatch(/300 ms/);
          expect(Date.now() - started).toBeGreaterThanOrEqual(290);
          const next = peer.acquireLease(id("lease-busy"), lease);
          await store.releaseLease(held.lease);
          const got = await next;
          expect(got.lease.token).toBeGreaterThan(held.lease.token);
          await peer.releaseLease(got.lease);
        },
        timeout,
      );

      test(
        "a lease not renewed lapses after its TTL: the next waiter gets it and the lapsed holder's write is refused",
        async () => {
          const created = await store.create({ id: id("lease-lapse"), state: { by: "nobody" } });
          const stale = await store.acquireLease(id("lease-lapse"), { ttlMs: 500, waitMs: 0 });
          const started = Date.now();
          const next = await peer.acquireLease(id("lease-lapse"), lease);
          expect(Date.now() - started).toBeGreaterThanOrEqual(400);
          await expect(
            store.update(
              id("lease-lapse"),
              created.version,
              { ...sessionData(created), state: { by: "stale" } },
              { lease: stale.lease },
            ),
          ).rejects.toMatchObject({ code: ErrorCodes.SESSION_LEASE_LOST });
          await expect(
            store.create({ id: id("lease-lapse") }, { lease: stale.lease }),
          ).rejects.toMatchObject({ code: ErrorCodes.SESSION_LEASE_LOST });
          expect((await store.get(id("lease-lapse")))!.state).toEqual({ by: "nobody" });
          const saved = await peer.update(
            id("lease-lapse"),
            created.version,
            { ...sessionData(created), state: { by: "next" } },
            { lease: next.lease, release: true },
          );
          expect(saved.state).toEqual({ by: "next" });
          // Releasing the lapsed lease must not release anyone else's.
          const third = await store.acquireLease(id("lease-lapse"), lease);
          await store.releaseLease(stale.lease);
          await expect(
            peer.acquireLease(id("lease-lapse"), { ttlMs: 10_000, waitMs: 200 }),
          ).rejects.toMatchObject({ code: ErrorCodes.SESSION_BUSY });
          await store.releaseLease(third.lease);
        },
        timeout,
      );

      test(
        "renewing keeps a lease past its TTL; renewing a lapsed one answers false",
        async () => {
          const held = await store.acquireLease(id("lease-renew"), { ttlMs: 600, waitMs: 0 });
          for (let i = 0; i < 4; i++) {
            await wait(300);
            expect(await store.renewLease(held.lease, 600)).toBe(true);
          }
          await expect(
            peer.acquireLease(id("lease-renew"), { ttlMs: 600, waitMs: 100 }),
          ).rejects.toMatchObject({ code: ErrorCodes.SESSION_BUSY });
          await wait(900);
          expect(await store.renewLease(held.lease, 600)).toBe(false);
          const next = await peer.acquireLease(id("lease-renew"), { ttlMs: 600, waitMs: 0 });
          expect(await store.renewLease(held.lease, 600)).toBe(false);
          await peer.releaseLease(next.lease);
        },
        timeout,
      );

      test(
        `${writers} contenders each take the turn, read, write with release: nothing is lost`,
        async () => {
          await store.create({ id: id("lease-race"), state: { n: 0 } });
          const tokens = await Promise.all(
            Array.from({ length: writers }, async (_, i) => {
              const s = i % 2 === 0 ? store : peer;
              const { lease: held, record } = await s.acquireLease(id("lease-race"), {
                ttlMs: 10_000,
                waitMs: 60_000,
              });
              // An awaited pause inside the turn: without the lease, writers would interleave here.
              await wait(1);
              const data = sessionData(record!);
              await s.update(
                id("lease-race"),
                record!.version,
                { ...data, state: { n: (data.state.n as number) + 1 } },
                { lease: held, release: true },
              );
              return held.token;
            }),
          );
          // Read under the lease, as an execution does: a plain get may serve an eventual
          // cache's copy from before the other store's last write.
          const { lease: last, record: final } = await store.acquireLease(id("lease-race"), {
            ttlMs: 10_000,
            waitMs: 10_000,
          });
          await store.releaseLease(last);
          expect(final!.state).toEqual({ n: writers });
          expect(final!.version).toBe(writers + 1);
          expect(new Set(tokens).size).toBe(writers);
        },
        timeout,
      );

      test(
        "rejects malformed lease options with INVALID_INPUT",
        async () => {
          await expect(
            store.acquireLease(id("lease-bad"), { ttlMs: 0, waitMs: 0 }),
          ).rejects.toMatchObject({ code: ErrorCodes.INVALID_INPUT });
          await expect(
            store.acquireLease(id("lease-bad"), { ttlMs: 1000, waitMs: -1 }),
          ).rejects.toMatchObject({ code: ErrorCodes.INVALID_INPUT });
          await expect(store.acquireLease("bad id", lease)).rejects.toMatchObject({
            code: ErrorCodes.INVALID_INPUT,
          });
        },
        timeout,
      );
    });

    describe("cache management: stats, gc, size caps", () => {
      test(
        "stats count sessions, their bytes and the oldest, and entries by kind of scope",
        async () => {
          if (!store.stats) throw new Error(`${name} has no stats(): cache management needs it`);
          const before = await store.stats();
          expect(before.kind).toBe(store.kind);
          const state = { blob: "s".repeat(3000) };
          for (const n of [1, 2, 3])
            await store.create({ id: id(`stats-${n}`), tenant: tenant("stats"), state });
          await store.entries.set(`ctx:${tenant("stats")}:someone`, "k", { v: "x".repeat(500) });
          const after = await peer.stats!();
          expect(after.sessions.count).toBeGreaterThanOrEqual(before.sessions.count + 3);
          expect(after.sessions.bytes).toBeGreaterThan(before.sessions.bytes);
          expect(after.sessions.oldest).toMatchObject({
            id: expect.any(String),
            tenant: expect.any(String),
          });
          expect(Date.parse(after.sessions.oldest!.createdAt)).toBeLessThanOrEqual(Date.now());
          expect(after.entries.byKind.ctx!.count).toBeGreaterThanOrEqual(1);
          expect(after.entries.byKind.ctx!.bytes).toBeGreaterThan(500);
          expect(after.entries.count).toBeGreaterThanOrEqual(after.entries.byKind.ctx!.count);
          expect(after.limits.maxSessionBytes).toBeGreaterThan(0);
          expect(after.limits.maxEntryBytes).toBeGreaterThan(0);
        },
        timeout,
      );

      test(
        "gc removes what expired (sessions, entries, index members) and counts it as evicted",
        async () => {
          if (!store.gc) throw new Error(`${name} has no gc(): cache management needs it`);
          const before = await store.stats!();
          await store.create({ id: id("gc-1"), tenant: tenant("gc"), ttlMs: 300 });
          await store.entries.set(`handles:${id("gc-1")}`, "h", 1, { ttlMs: 300 });
          await wait(900);
          const report = await store.gc();
          // The expired session is gone from its tenant's listing: removed by gc (memory) or
          // expired by the backend with gc pruning the dead listing member (Redis). An expired
          // entry is either removed by gc or already gone with its scope's listing.
          expect(report.sessions + report.indexMembers).toBeGreaterThanOrEqual(1);
          expect(await store.entries.get(`handles:${id("gc-1")}`, "h")).toBeUndefined();
          expect(report.durationMs).toBeGreaterThanOrEqual(0);
          expect((await store.list(tenant("gc"))).sessions).toEqual([]);
          const after = await store.stats!();
          expect(after.evictions.expired).toBeGreaterThan(before.evictions.expired);
          expect(await store.gc()).toMatchObject({ sessions: 0, entries: 0, indexMembers: 0 });
        },
        timeout,
      );

      if (options.maxSessionBytes !== undefined) {
        const cap = options.maxSessionBytes;
        test(
          `a session over maxSessionBytes (${cap}) is SESSION_TOO_LARGE naming the cap, and the stored one is kept`,
          async () => {
            const made = await store.create({ id: id("cap"), state: { small: true } });
            const big = { ...sessionData(made), state: { big: "x".repeat(cap) } };
            const error = await store.update(id("cap"), made.version, big).catch((e) => e);
            expect(error).toMatchObject({ code: ErrorCodes.SESSION_TOO_LARGE });
            expect((error as Error).message).toContain("maxSessionBytes");
            expect((await peer.get(id("cap")))!.state).toEqual({ small: true });
            await expect(
              store.create({ id: id("cap-new"), state: { big: "x".repeat(cap) } }),
            ).rejects.toMatchObject({ code: ErrorCodes.SESSION_TOO_LARGE });
          },
          timeout,
        );
      }
    });

    describe("entries: keyed values beside the sessions", () => {
      const scope = (suffix: string) => `scope-${run}-${suffix}`;

      test(
        "set and get JSON, a version per key, updatedAt",
        async () => {
          const value = { text: 'ünï "q" \n', list: [1, 2.5, null, true], nested: { a: {} } };
          const first = await store.entries.set(scope("rw"), "k1", value);
          expect(first).toMatchObject({ key: "k1", value, version: 1 });
          expect(Date.parse(first.updatedAt)).toBeGreaterThan(0);
          const second = await peer.entries.set(scope("rw"), "k1", "replaced");
          expect(second.version).toBe(2);
          expect((await store.entries.get(scope("rw"), "k1"))!.value).toBe("replaced");
          expect(await store.entries.get(scope("rw"), "missing")).toBeUndefined();
          expect(await store.entries.get(scope("other"), "k1")).toBeUndefined();
        },
        timeout,
      );

      test(
        "compare-and-set: expectedVersion 0 creates only, a stale version is ENTRY_CONFLICT and writes nothing",
        async () => {
          await store.entries.set(scope("cas"), "k", "v1", { expectedVersion: 0 });
          await expect(
            peer.entries.set(scope("cas"), "k", "again", { expectedVersion: 0 }),
          ).rejects.toMatchObject({ code: ErrorCodes.ENTRY_CONFLICT });
          await store.entries.set(scope("cas"), "k", "v2", { expectedVersion: 1 });
          await expect(
            peer.entries.set(scope("cas"), "k", "stale", { expectedVersion: 1 }),
          ).rejects.toMatchObject({ code: ErrorCodes.ENTRY_CONFLICT });
          const now = await store.entries.get(scope("cas"), "k");
          expect(now).toMatchObject({ value: "v2", version: 2 });
          await expect(
            store.entries.delete(scope("cas"), "k", { expectedVersion: 1 }),
          ).rejects.toMatchObject({ code: ErrorCodes.ENTRY_CONFLICT });
          expect(await store.entries.delete(scope("cas"), "k", { expectedVersion: 2 })).toBe(true);
          expect(await store.entries.delete(scope("cas"), "k")).toBe(false);
        },
        timeout,
      );

      test(
        "a TTL expires the entry; a write without ttlMs keeps the expiry it had",
        async () => {
          const written = await store.entries.set(scope("ttl"), "k", 1, { ttlMs: 1200 });
          expect(Date.parse(written.expiresAt!)).toBeGreaterThan(Date.now());
          await peer.entries.set(scope("ttl"), "k", 2);
          await wait(1700);
          expect(await store.entries.get(scope("ttl"), "k")).toBeUndefined();
          expect((await store.entries.list(scope("ttl"))).entries).toEqual([]);
          const forever = await store.entries.set(scope("ttl"), "plain", 1);
          expect(forever.expiresAt).toBeUndefined();
        },
        timeout,
      );

      test(
        "lists a scope in key order, by prefix, page by page; stats count entries and bytes",
        async () => {
          const keys = Array.from({ length: 25 }, (_, i) => `user/${String(i).padStart(2, "0")}`);
          await Promise.all(keys.map((k, i) => store.entries.set(scope("list"), k, { i })));
          await store.entries.set(scope("list"), "other/x", 1);
          const seen: string[] = [];
          let cursor: string | undefined;
          let pages = 0;
          do {
            const page = await peer.entries.list(scope("list"), {
              prefix: "user/",
              limit: 10,
              ...(cursor ? { cursor } : {}),
            });
            seen.push(...page.entries.map((e) => e.key));
            cursor = page.cursor;
            pages++;
          } while (cursor && pages < 10);
          expect(seen).toEqual(keys);
          expect(pages).toBe(3);
          const all = await store.entries.list(scope("list"), { limit: 1000 });
          expect(all.entries.map((e) => e.key)).toEqual([...keys, "other/x"].sort());
          const stats = await store.entries.stats(scope("list"));
          expect(stats.entries).toBe(26);
          expect(stats.bytes).toBeGreaterThanOrEqual(
            keys.reduce((n, _k, i) => n + JSON.stringify({ i }).length, 1),
          );
        },
        timeout,
      );

      test(
        "100 concurrent writers to distinct keys lose nothing; to one key every compare-and-set wins or reports the conflict",
        async () => {
          await Promise.all(
            Array.from({ length: 100 }, (_, i) =>
              (i % 2 ? peer : store).entries.set(scope("many"), `k${i}`, i),
            ),
          );
          expect((await store.entries.stats(scope("many"))).entries).toBe(100);
          for (let i = 0; i < 100; i += 17)
            expect((await peer.entries.get(scope("many"), `k${i}`))!.value).toBe(i);

          await store.entries.set(scope("hot"), "n", 0);
          const outcomes = await Promise.all(
            Array.from({ length: 100 }, async (_, i) => {
              const s = (i % 2 ? peer : store).entries;
              const read = (await s.get(scope("hot"), "n"))!;
              try {
                await s.set(scope("hot"), "n", (read.value as number) + 1, {
                  expectedVersion: read.version,
                });
                return "won";
              } catch (error) {
                expect(error).toMatchObject({ code: ErrorCodes.ENTRY_CONFLICT });
                return "conflict";
              }
            }),
          );
          const wins = outcomes.filter((o) => o === "won").length;
          expect(wins).toBeGreaterThanOrEqual(1);
          const final = (await store.entries.get(scope("hot"), "n"))!;
          expect(final.value).toBe(wins);
          expect(final.version).toBe(1 + wins);
        },
        timeout,
      );

      test(
        "scope limits: writers on two replicas together never take a scope past them; the refused name the limit",
        async () => {
          const write = (
            target: SessionStore,
            name: string,
            key: string,
            value: string,
            limits: { maxBytes: number; maxEntries: number },
          ) =>
            target.entries.set(scope(name), key, value, { scopeLimits: limits }).then(
              () => "written",
              (error) => {
                expect(error).toMatchObject({ code: ErrorCodes.ENTRY_SCOPE_FULL });
                return (error as { details: { cap: string } }).details.cap;
              },
            );
          // 40 writers of 50-byte entries (JSON), at most 10 entries: exactly 10 are written.
          const byCount = await Promise.all(
            Array.from({ length: 40 }, (_, i) =>
              write(i % 2 ? peer : store, "cap-n", `k${i}`, "x".repeat(48), {
                maxBytes: 100_000,
                maxEntries: 10,
              }),
            ),
          );
          expect(byCount.filter((o) => o === "written")).toHaveLength(10);
          expect(byCount.filter((o) => o === "entries")).toHaveLength(30);
          expect(await store.entries.stats(scope("cap-n"))).toEqual({ entries: 10, bytes: 500 });
          // 40 writers of 100-byte entries, at most 500 bytes: exactly 5 are written.
          const byBytes = await Promise.all(
            Array.from({ length: 40 }, (_, i) =>
              write(i % 2 ? peer : store, "cap-b", `k${i}`, "y".repeat(98), {
                maxBytes: 500,
                maxEntries: 1000,
              }),
            ),
          );
          expect(byBytes.filter((o) => o === "written")).toHaveLength(5);
          expect(byBytes.filter((o) => o === "bytes")).toHaveLength(35);
          const held = await peer.entries.stats(scope("cap-b"));
          expect(held).toEqual({ entries: 5, bytes: 500 });
          // A key rewritten counts once, at its new size; an expired entry counts for nothing.
          const written = (await store.entries.list(scope("cap-b"))).entries[0]!.key;
          const limits = { maxBytes: 500, maxEntries: 1000 };
          expect(await write(store, "cap-b", written, "z".repeat(99), limits)).toBe("bytes");
          expect(await write(store, "cap-b", written, "z".repeat(50), limits)).toBe("written");
          await store.entries.set(scope("cap-t"), "old", "x".repeat(98), { ttlMs: 300 });
          const small = { maxBytes: 150, maxEntries: 1000 };
          expect(await write(peer, "cap-t", "new", "y".repeat(98), small)).toBe("bytes");
          await wait(700);
          expect(await write(peer, "cap-t", "new", "y".repeat(98), small)).toBe("written");
        },
        timeout,
      );

      test(
        "context: a principal's keys are shared by its sessions (replicas), 100 concurrent writers lose nothing, every update wins or reports the conflict, caps name themselves",
        async () => {
          const principal = `user-${run}`;
          const mine = createPrincipalContext({
            entries: store.entries,
            tenant: tenant("ctx"),
            principal,
          });
          const minePeer = createPrincipalContext({
            entries: peer.entries,
            tenant: tenant("ctx"),
            principal,
          });
          const other = createPrincipalContext({
            entries: store.entries,
            tenant: tenant("ctx"),
            principal: `${principal}-2`,
          });
          const otherTenant = createPrincipalContext({
            entries: store.entries,
            tenant: tenant("ctx2"),
            principal,
          });

          await Promise.all(
            Array.from({ length: 100 }, (_, i) =>
              (i % 2 ? minePeer : mine).set(`pref/${String(i).padStart(3, "0")}`, { i }),
            ),
          );
          const listed = await minePeer.list("pref/");
          expect(listed.map((e) => e.value)).toEqual(
            Array.from({ length: 100 }, (_, i) => ({ i })),
          );
          expect(await other.list()).toEqual([]);
          expect(await otherTenant.get("pref/000")).toBeUndefined();

          await mine.set("counter", 0);
          const outcomes = await Promise.all(
            Array.from({ length: 100 }, async (_, i) => {
              const ctx = i % 2 ? minePeer : mine;
              const seen = (await ctx.get("counter")) as number;
              const result = await ctx.update("counter", seen, seen + 1);
              if (!result.ok) expect(typeof result.current).toBe("number");
              return result.ok;
            }),
          );
          const wins = outcomes.filter(Boolean).length;
          expect(wins).toBeGreaterThanOrEqual(1);
          expect(await mine.get("counter")).toBe(wins);
          expect(await mine.update("fresh", undefined, "a")).toEqual({ ok: true, version: 1 });
          expect(await minePeer.update("fresh", undefined, "b")).toEqual({
            ok: false,
            current: "a",
            version: 1,
          });

          const small = createPrincipalContext({
            entries: store.entries,
            tenant: tenant("ctx"),
            principal: `${principal}-small`,
            maxBytes: 100,
            maxEntries: 2,
          });
          await small.set("a", "x".repeat(40));
          await expect(small.set("b", "y".repeat(80))).rejects.toMatchObject({
            code: ErrorCodes.CONTEXT_TOO_LARGE,
            details: { cap: "context.maxBytes", limit: 100 },
          });
          await small.set("b", 1);
          await expect(small.set("c", 1)).rejects.toMatchObject({
            code: ErrorCodes.CONTEXT_TOO_LARGE,
            details: { cap: "context.maxEntries", limit: 2 },
          });
          // Replacing a key counts its new size, not both.
          await small.set("a", "z".repeat(60));
          expect(await small.get("b")).toBe(1);
        },
        timeout,
      );

      test(
        "a value over the size limit is ENTRY_TOO_LARGE; bad scopes and keys are INVALID_INPUT",
        async () => {
          await expect(
            store.entries.set(scope("big"), "k", "x".repeat(DEFAULT_MAX_ENTRY_BYTES + 1)),
          ).rejects.toMatchObject({ code: ErrorCodes.ENTRY_TOO_LARGE });
          expect(await store.entries.get(scope("big"), "k")).toBeUndefined();
          await expect(store.entries.get("", "k")).rejects.toMatchObject({
            code: ErrorCodes.INVALID_INPUT,
          });
          await expect(store.entries.set(scope("bad"), "a\nb", 1)).rejects.toMatchObject({
            code: ErrorCodes.INVALID_INPUT,
          });
          await expect(
            store.entries.set(scope("bad"), "k", 1, { ttlMs: -5 }),
          ).rejects.toMatchObject({ code: ErrorCodes.INVALID_INPUT });
        },
        timeout,
      );
    });
  });
}
