import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { SessionStore } from "../contracts/session-store.js";
import { ErrorCodes } from "../errors.js";
import { sessionData, updateSession } from "../sessions/session-data.js";

export interface DescribeSessionStoreOptions {
  /** Concurrent writers in the lost-update test. Default 50. */
  writers?: number;
  /** Per-test timeout for vitest, in ms. Default 30000. */
  testTimeoutMs?: number;
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
    beforeAll(async () => {
      store = await factory();
    }, timeout);
    afterAll(async () => {
      await store?.close();
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
  });
}
