import { deflateRawSync } from "node:zlib";
import { ErrorCodes, hasErrorCode, sessionData, updateSession } from "@mcp-optimizer/core";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  createRedisSessionStore,
  FORMAT_DEFLATE,
  FORMAT_JSON,
  type RedisSessionStore,
} from "../src/index.js";
import { RedisServer } from "./redis-server.js";

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

let server: RedisServer;
let raw: Redis;
let store: RedisSessionStore;
const stores: RedisSessionStore[] = [];
const open = (extra: Parameters<typeof createRedisSessionStore>[0] = {}) => {
  const s = createRedisSessionStore({ url: server.url, prefix: "t:", ...extra });
  stores.push(s);
  return s;
};

beforeAll(async () => {
  server = await RedisServer.start();
  raw = new Redis(server.url);
  store = open();
});

afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  raw?.disconnect();
  await server?.stop();
});

describe("compare-and-set under load", () => {
  test("1,000 concurrent increments from 5 clients end at exactly 1,000", async () => {
    const clients = Array.from({ length: 5 }, () => open());
    await store.create({ id: "cas-1000", state: { n: 0 } });
    let conflictsSeen = 0;
    await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        updateSession(
          clients[i % clients.length]!,
          "cas-1000",
          (data, record) => {
            if (record.version !== (data.state.n as number) + 1) conflictsSeen = -1e9;
            return { ...data, state: { n: (data.state.n as number) + 1 } };
          },
          { attempts: 10_000 },
        ),
      ),
    );
    const final = await store.get("cas-1000");
    expect(final!.state).toEqual({ n: 1000 });
    expect(final!.version).toBe(1001);
    // Version and data always moved together.
    expect(conflictsSeen).toBe(0);
  }, 120_000);

  test("a stale writer gets SESSION_CONFLICT with both versions, and nothing is written", async () => {
    const created = await store.create({ id: "cas-stale", state: { v: 1 } });
    await store.update("cas-stale", 1, { ...sessionData(created), state: { v: 2 } });
    const error = await store
      .update("cas-stale", 1, { ...sessionData(created), state: { v: "lost" } })
      .catch((e: unknown) => e);
    expect(hasErrorCode(error, ErrorCodes.SESSION_CONFLICT)).toBe(true);
    expect((error as { details: unknown }).details).toEqual({
      expectedVersion: 1,
      actualVersion: 2,
    });
    expect(await raw.hget("t:s:{cas-stale}", "v")).toBe("2");
  });
});

describe("sliding TTL", () => {
  test("the key's PTTL is the session's TTL, slid by update and touch, changed by touch(ttl)", async () => {
    const created = await store.create({ id: "ttl-slide", ttlMs: 20_000 });
    const key = "t:s:{ttl-slide}";
    expect(await raw.pttl(key)).toBeGreaterThan(17_000);
    await wait(2000);
    // Bounds 2 s apart from what each step must give, so a loaded machine does not flake.
    expect(await raw.pttl(key)).toBeLessThan(18_100);
    const updated = await store.update("ttl-slide", 1, sessionData(created));
    expect(await raw.pttl(key)).toBeGreaterThan(18_100);
    expect(Date.parse(updated.expiresAt)).toBeGreaterThan(Date.parse(created.expiresAt) + 1900);

    await wait(2000);
    expect(await raw.pttl(key)).toBeLessThan(18_100);
    expect(await store.touch("ttl-slide")).toBe(true);
    expect(await raw.pttl(key)).toBeGreaterThan(18_100);
    const touched = await store.get("ttl-slide");
    expect(Date.parse(touched!.expiresAt)).toBeGreaterThan(Date.parse(updated.expiresAt) + 1900);
    // touch does not count as a write of the data.
    expect(touched!.version).toBe(2);

    expect(await store.touch("ttl-slide", 60_000)).toBe(true);
    expect(await raw.pttl(key)).toBeGreaterThan(55_000);
    const longer = await store.get("ttl-slide");
    expect(longer!.ttlMs).toBe(60_000);
    // The next update keeps the new TTL.
    const next = await store.update("ttl-slide", 2, sessionData(longer!));
    expect(next.ttlMs).toBe(60_000);
    expect(await raw.pttl(key)).toBeGreaterThan(55_000);
    await expect(store.touch("ttl-slide", 0)).rejects.toMatchObject({
      code: ErrorCodes.INVALID_INPUT,
    });
  }, 20_000);

  test("an expired session is gone for get, update, touch and the tenant listing", async () => {
    const created = await store.create({ id: "ttl-gone", tenant: "ttl-tenant", ttlMs: 300 });
    await store.create({ id: "ttl-stays", tenant: "ttl-tenant", ttlMs: 60_000 });
    await wait(600);
    expect(await store.get("ttl-gone")).toBeUndefined();
    expect(await store.touch("ttl-gone")).toBe(false);
    await expect(store.update("ttl-gone", 1, sessionData(created))).rejects.toMatchObject({
      code: ErrorCodes.SESSION_NOT_FOUND,
    });
    const page = await store.list("ttl-tenant");
    expect(page.sessions.map((s) => s.id)).toEqual(["ttl-stays"]);
    // The listing pruned the dead entry from the tenant index.
    const index = `t:t:${Buffer.from("ttl-tenant").toString("hex")}`;
    expect(await raw.zrange(index, "0", "-1")).toEqual(["ttl-stays"]);
    // The index itself expires no sooner than its longest-lived session.
    expect(await raw.pttl(index)).toBeGreaterThan(50_000);
  });
});

describe("tenant listing", () => {
  test("pages in id order, follows a tenant change, and keeps tenants apart", async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `lst-${String(i).padStart(2, "0")}`);
    for (const id of ids) await store.create({ id, tenant: "acme" });
    await store.create({ id: "lst-other", tenant: "globex" });
    const page1 = await store.list("acme", { limit: 5 });
    expect(page1.sessions.map((s) => s.id)).toEqual(ids.slice(0, 5));
    expect(page1.cursor).toBe("lst-04");
    const page2 = await store.list("acme", { limit: 5, cursor: page1.cursor! });
    expect(page2.sessions.map((s) => s.id)).toEqual(ids.slice(5, 10));
    const page3 = await store.list("acme", { limit: 5, cursor: page2.cursor! });
    expect(page3.sessions.map((s) => s.id)).toEqual(ids.slice(10));
    expect(page3.cursor).toBeUndefined();
    expect(page1.sessions[0]).toMatchObject({ id: "lst-00", tenant: "acme", version: 1 });

    // Moving a session to another tenant moves it in the listings.
    const moved = (await store.get("lst-03"))!;
    await store.update("lst-03", 1, { ...sessionData(moved), tenant: "globex" });
    expect((await store.list("acme")).sessions.map((s) => s.id)).not.toContain("lst-03");
    expect((await store.list("globex")).sessions.map((s) => s.id).sort()).toEqual([
      "lst-03",
      "lst-other",
    ]);
    // Deleted sessions leave the listing.
    await store.delete("lst-00");
    expect((await store.list("acme", { limit: 1 })).sessions[0]!.id).toBe("lst-01");
    // A key that is not a session, listed in the index by hand, is left out, not fatal.
    const acme = `t:t:${Buffer.from("acme").toString("hex")}`;
    await raw.zadd(acme, 0, "lst-000-junk");
    await raw.set("t:s:{lst-000-junk}", "not a session");
    const withJunk = await store.list("acme", { limit: 2 });
    expect(withJunk.sessions.map((s) => s.id)).toEqual(["lst-01", "lst-02"]);
    await expect(store.list("")).rejects.toMatchObject({ code: ErrorCodes.INVALID_INPUT });
    await expect(store.list("acme", { cursor: "bad cursor" })).rejects.toMatchObject({
      code: ErrorCodes.INVALID_INPUT,
    });
  });
});

describe("size limit and encoding", () => {
  test("a session over maxSessionBytes gets SESSION_TOO_LARGE and the stored one is kept", async () => {
    const small = open({ maxSessionBytes: 10_000 });
    await expect(
      small.create({ id: "big-create", state: { blob: "x".repeat(20_000) } }),
    ).rejects.toMatchObject({
      code: ErrorCodes.SESSION_TOO_LARGE,
      details: { limit: 10_000 },
    });
    expect(await small.get("big-create")).toBeUndefined();
    const created = await small.create({ id: "big-update", state: { ok: true } });
    const error = await small
      .update("big-update", 1, {
        ...sessionData(created),
        files: { "a.txt": "y".repeat(20_000) },
      })
      .catch((e: unknown) => e);
    expect(hasErrorCode(error, ErrorCodes.SESSION_TOO_LARGE)).toBe(true);
    expect((error as Error).message).toMatch(/maxSessionBytes/);
    const kept = await small.get("big-update");
    expect(kept!.version).toBe(1);
    expect(kept!.files).toEqual({});
  });

  test("large sessions are stored deflated, small ones as JSON, and both read back exactly", async () => {
    const files = { "big.md": "lorem ipsum ".repeat(5000) };
    const big = await store.create({ id: "enc-big", files });
    const small = await store.create({ id: "enc-small", state: { a: 1 } });
    const bigBlob = (await raw.hgetBuffer("t:s:{enc-big}", "d"))!;
    const smallBlob = (await raw.hgetBuffer("t:s:{enc-small}", "d"))!;
    expect(bigBlob[0]).toBe(FORMAT_DEFLATE);
    expect(bigBlob.length).toBeLessThan(files["big.md"].length / 10);
    expect(smallBlob[0]).toBe(FORMAT_JSON);
    expect(await store.get("enc-big")).toEqual(big);
    expect(await store.get("enc-small")).toEqual(small);
  });

  test("reads a value in format 1 written by hand (what release 0.1 writes)", async () => {
    // A frozen fixture of the 0.1 layout: later releases must keep reading it.
    const data = [
      { servers: ["github"] },
      { n: 7 },
      { "a.txt": "hello" },
      { s: { code: "return 1", updatedAt: "2026-01-01T00:00:00.000Z" } },
      [],
      { executions: 3, toolCalls: 4, tokensUsed: 5, tokensPlainMcp: 60, costUsd: 0.5 },
    ];
    await raw.hset("t:s:{fixture-v1}", {
      v: "4",
      t: "acme",
      c: "1767225600000",
      u: "1767225660000",
      x: String(Date.now() + 60_000),
      l: "60000",
      d: Buffer.concat([Buffer.of(0x01), Buffer.from(JSON.stringify(data))]),
    });
    await raw.hset("t:s:{fixture-v2}", {
      v: "1",
      t: "acme",
      c: "1767225600000",
      u: "1767225600000",
      x: String(Date.now() + 60_000),
      l: "60000",
      d: Buffer.concat([Buffer.of(0x02), deflateRawSync(Buffer.from(JSON.stringify(data)))]),
    });
    for (const id of ["fixture-v1", "fixture-v2"]) {
      await raw.pexpire(`t:s:{${id}}`, 60_000);
      const record = await store.get(id);
      expect(record).toMatchObject({
        id,
        tenant: "acme",
        createdAt: "2026-01-01T00:00:00.000Z",
        allow: { servers: ["github"] },
        state: { n: 7 },
        files: { "a.txt": "hello" },
        counters: { executions: 3, costUsd: 0.5 },
        ttlMs: 60_000,
      });
    }
    expect((await store.get("fixture-v1"))!.version).toBe(4);
  });
});

describe("corrupt values written by hand read back as SESSION_CORRUPT", () => {
  const cases: [string, (key: string) => Promise<unknown>][] = [
    ["a plain string instead of a hash", (key) => raw.set(key, "not a session")],
    ["a list", (key) => raw.rpush(key, "a", "b")],
    ["an unknown format byte", (key) => raw.hset(key, good({ d: Buffer.from("\x09{}") }))],
    ["JSON that does not parse", (key) => raw.hset(key, good({ d: Buffer.from("\x01{oops") }))],
    [
      "deflate data that does not inflate",
      (key) => raw.hset(key, good({ d: Buffer.from("\x02garbage") })),
    ],
    [
      "an array of the wrong shape",
      (key) => raw.hset(key, good({ d: Buffer.from("\x01[1,2,3,4,5,6]") })),
    ],
    ["an empty value", (key) => raw.hset(key, good({ d: Buffer.alloc(0) }))],
    ["a version that is not a number", (key) => raw.hset(key, good({ v: "two" }))],
    ["a hash without the data field", (key) => raw.hset(key, { v: "1", t: "x" })],
  ];
  let n = 0;
  for (const [name, write] of cases) {
    test(name, async () => {
      const id = `corrupt-${++n}`;
      const key = `t:s:{${id}}`;
      await write(key);
      const error = await store.get(id).catch((e: unknown) => e);
      expect(hasErrorCode(error, ErrorCodes.SESSION_CORRUPT), String(error)).toBe(true);
      expect((error as Error).message).toContain(id);
      // updateSession (what the engine uses) fails the same typed way, and the store keeps serving.
      await expect(updateSession(store, id, (d) => d)).rejects.toMatchObject({
        code: ErrorCodes.SESSION_CORRUPT,
      });
      await store.create({ id: `${id}-neighbour` });
      expect((await store.get(`${id}-neighbour`))!.version).toBe(1);
      // A corrupt session can be deleted and created afresh.
      expect(await store.delete(id)).toBe(true);
      expect((await store.create({ id })).version).toBe(1);
    });
  }
});

function good(over: Record<string, string | Buffer>): Record<string, string | Buffer> {
  return {
    v: "1",
    t: "acme",
    c: String(Date.now()),
    u: String(Date.now()),
    x: String(Date.now() + 60_000),
    l: "60000",
    d: Buffer.from('\x01[{},{},{},{},[],{"executions":0}]'),
    ...over,
  };
}

describe("configuration", () => {
  test("bad options get INVALID_CONFIG", () => {
    expect(() => createRedisSessionStore({})).toThrow(/exactly one of url, client/);
    expect(() => createRedisSessionStore({ url: "http://x" })).toThrow(/redis:\/\//);
    expect(() => createRedisSessionStore({ url: server.url, prefix: "{bad}" })).toThrow(/prefix/);
    expect(() =>
      createRedisSessionStore({ url: server.url, cache: true, invalidation: false }),
    ).toThrow(/invalidation/);
    for (const options of [{}, { url: "http://x" }]) {
      try {
        createRedisSessionStore(options);
      } catch (error) {
        expect(hasErrorCode(error, ErrorCodes.INVALID_CONFIG)).toBe(true);
      }
    }
  });

  test("works on a client you pass, and leaves it open on close", async () => {
    const client = new Redis(server.url);
    const mine = createRedisSessionStore({ client, prefix: "own:" });
    await mine.create({ id: "passed-client", tenant: "p" });
    expect(await client.exists("own:s:{passed-client}")).toBe(1);
    await mine.close();
    expect(await client.ping()).toBe("PONG");
    await expect(mine.get("passed-client")).rejects.toMatchObject({
      code: ErrorCodes.SESSION_STORE_UNAVAILABLE,
    });
    client.disconnect();
  });

  test("a client you made with lazyConnect is connected by the store's first operation", async () => {
    const client = new Redis(server.url, { lazyConnect: true });
    const mine = createRedisSessionStore({ client, prefix: "lazy:", invalidation: false });
    try {
      expect(client.status).toBe("wait");
      await mine.create({ id: "lazy-client", tenant: "p" });
      expect((await mine.get("lazy-client"))!.version).toBe(1);
      expect(await raw.exists("lazy:s:{lazy-client}")).toBe(1);
    } finally {
      await mine.close();
      client.disconnect();
    }
  });

  test("prefixes keep deployments apart", async () => {
    const a = open({ prefix: "dep-a:" });
    const b = open({ prefix: "dep-b:" });
    await a.create({ id: "same-id", state: { who: "a" } });
    await b.create({ id: "same-id", state: { who: "b" } });
    expect((await a.get("same-id"))!.state).toEqual({ who: "a" });
    expect((await b.get("same-id"))!.state).toEqual({ who: "b" });
  });

  test("ping answers while Redis is up", async () => {
    await expect(store.ping()).resolves.toBeUndefined();
  });
});
