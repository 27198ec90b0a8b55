import { ErrorCodes, hasErrorCode, isOptimizerError, updateSession } from "@mcp-optimizer/core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createRedisSessionStore, type RedisSessionStore } from "../src/index.js";
import { RedisServer } from "./redis-server.js";

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await wait(25);
  }
}

const pings = async (store: RedisSessionStore) =>
  store.ping().then(
    () => true,
    () => false,
  );

describe("Redis killed and restarted", () => {
  let server: RedisServer;
  const stores: RedisSessionStore[] = [];
  const open = (extra: Parameters<typeof createRedisSessionStore>[0] = {}) => {
    const s = createRedisSessionStore({
      url: server.url,
      prefix: "fault:",
      connectTimeoutMs: 3000,
      commandTimeoutMs: 5000,
      maxReconnectDelayMs: 200,
      ...extra,
    });
    stores.push(s);
    return s;
  };

  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await server?.stop();
  });

  test("under load (SIGKILL, AOF on): no acknowledged write lost, fast SESSION_STORE_UNAVAILABLE while down, recovery by itself", async () => {
    const clients = [open(), open(), open()];
    const ids = ["load-0", "load-1", "load-2", "load-3"];
    for (const id of ids) await clients[0]!.create({ id, state: { n: 0 }, ttlMs: 600_000 });
    const acked = new Map(ids.map((id) => [id, 0]));
    const uncertain = new Map(ids.map((id) => [id, 0]));
    const codes = new Set<string>();
    let phase: "before" | "down" | "after" = "before";
    let ackedAfter = 0;
    let stop = false;

    const worker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const id = ids[(w + i) % ids.length]!;
        try {
          await updateSession(
            clients[w % clients.length]!,
            id,
            (data) => ({ ...data, state: { n: (data.state.n as number) + 1 } }),
            { attempts: 100 },
          );
          acked.set(id, acked.get(id)! + 1);
          if (phase === "after") ackedAfter++;
        } catch (error) {
          // The write may or may not have landed (its reply was lost): count it as maybe.
          uncertain.set(id, uncertain.get(id)! + 1);
          codes.add(isOptimizerError(error) ? error.code : String(error));
          await wait(10);
        }
      }
    };
    const workers = Array.from({ length: 12 }, (_, w) => worker(w));

    await until(() => [...acked.values()].reduce((a, b) => a + b) > 200, 20_000, "load");
    await server.kill("SIGKILL");
    phase = "down";

    // While Redis is down every operation fails at once, with the typed error.
    for (const store of clients) {
      const started = performance.now();
      const error = await store.get("load-0").catch((e: unknown) => e);
      const elapsed = performance.now() - started;
      expect(hasErrorCode(error, ErrorCodes.SESSION_STORE_UNAVAILABLE), String(error)).toBe(true);
      // Far below connectTimeoutMs and commandTimeoutMs: nothing waits for the server.
      expect(elapsed).toBeLessThan(1000);
    }
    await wait(800);

    await server.launch();
    // No new store, no restart of the host: the same stores serve again.
    for (const store of clients) await until(() => pings(store), 15_000, "reconnection");
    phase = "after";
    await until(() => ackedAfter > 100, 20_000, "load after the restart");
    stop = true;
    await Promise.all(workers);

    for (const id of ids) {
      const record = await clients[1]!.get(id);
      const n = record!.state.n as number;
      expect(n, `${id}: every acknowledged increment survived`).toBeGreaterThanOrEqual(
        acked.get(id)!,
      );
      expect(n, `${id}: nothing was applied twice`).toBeLessThanOrEqual(
        acked.get(id)! + uncertain.get(id)!,
      );
      // One version per applied increment: no write was torn or duplicated.
      expect(record!.version).toBe(n + 1);
    }
    expect(
      [...codes].every((c) => c === ErrorCodes.SESSION_STORE_UNAVAILABLE),
      [...codes].join(),
    ).toBe(true);
    expect(codes.size).toBe(1);
  }, 90_000);

  test("a store made while Redis is down fails within connectTimeoutMs, then serves once Redis starts", async () => {
    await server.kill("SIGKILL");
    const late = open({ connectTimeoutMs: 400 });
    const started = performance.now();
    const error = await late.create({ id: "late-1" }).catch((e: unknown) => e);
    expect(hasErrorCode(error, ErrorCodes.SESSION_STORE_UNAVAILABLE), String(error)).toBe(true);
    // Bounded by connectTimeoutMs, not ioredis's 10 s default or forever.
    expect(performance.now() - started).toBeLessThan(3000);
    expect((error as Error).message).not.toMatch(/redis:\/\//);
    const caps = await late.ping().catch((e: unknown) => e);
    expect(hasErrorCode(caps, ErrorCodes.SESSION_STORE_UNAVAILABLE)).toBe(true);
    await server.launch();
    await until(() => pings(late), 15_000, "first connection");
    expect((await late.create({ id: "late-1" })).version).toBe(1);
  }, 30_000);

  test("the cache is dropped while the invalidation channel is down and trusted again after", async () => {
    const writer = open();
    const reader = open({ cache: true });
    await writer.create({ id: "cached-1", state: { v: 1 } });
    await until(() => reader.listening, 10_000, "subscription");
    expect((await reader.get("cached-1"))!.state).toEqual({ v: 1 });
    expect(reader.cachedSessions).toBe(1);

    await server.kill("SIGKILL");
    await until(() => !reader.listening, 5_000, "the subscriber noticing");
    expect(reader.cachedSessions).toBe(0);
    // No stale answer from memory while the channel is down: it fails like any read.
    await expect(reader.get("cached-1")).rejects.toMatchObject({
      code: ErrorCodes.SESSION_STORE_UNAVAILABLE,
    });

    await server.launch();
    await until(() => reader.listening, 15_000, "resubscription");
    await until(() => pings(writer), 15_000, "writer reconnection");
    await until(() => pings(reader), 15_000, "reader reconnection");
    expect((await reader.get("cached-1"))!.state).toEqual({ v: 1 });
    const current = (await writer.get("cached-1"))!;
    await writer.update("cached-1", current.version, { ...current, state: { v: 2 } });
    await until(
      async () => ((await reader.get("cached-1"))!.state as { v: number }).v === 2,
      5_000,
      "invalidation after resubscribing",
    );
  }, 60_000);
});
