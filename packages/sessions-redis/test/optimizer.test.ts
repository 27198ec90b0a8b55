import { ErrorCodes, hasErrorCode, MCPOptimizer } from "@mcp-optimizer/core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createRedisSessionStore, type RedisSessionStore } from "../src/index.js";
import { RedisServer } from "./redis-server.js";

// Two optimizer "replicas" (core's MCPOptimizer, process sandbox, no upstreams) sharing one
// Redis: a session started on one continues on the other.
describe("two MCPOptimizer instances sharing one Redis", () => {
  let server: RedisServer;
  let storeA: RedisSessionStore;
  let storeB: RedisSessionStore;
  let a: MCPOptimizer;
  let b: MCPOptimizer;

  beforeAll(async () => {
    server = await RedisServer.start();
    storeA = createRedisSessionStore({ url: server.url, prefix: "opt:", cache: true });
    storeB = createRedisSessionStore({ url: server.url, prefix: "opt:", cache: true });
    const options = {
      sandboxConfig: { mode: "process" as const, maxExecutionTime: 10_000, maxMemoryMb: 96 },
      sessionDefaults: { tenant: "acme" },
    };
    a = new MCPOptimizer({ ...options, sessions: storeA });
    b = new MCPOptimizer({ ...options, sessions: storeB });
    await Promise.all([a.start(), b.start()]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await Promise.all([storeA?.close(), storeB?.close()]);
    await server?.stop();
  });

  test("state written by one replica is read by the other, turn by turn", async () => {
    const code = "state.visits = (state.visits ?? 0) + 1; return state.visits";
    const seen: unknown[] = [];
    for (const replica of [a, b, a, b, b, a]) {
      seen.push((await replica.run(code, { sessionId: "shared-1" })).value);
    }
    expect(seen).toEqual([1, 2, 3, 4, 5, 6]);
    const record = await storeA.get("shared-1");
    expect(record!.state).toEqual({ visits: 6 });
    expect(record!.counters.executions).toBe(6);
    expect(record!.log.map((l) => l.outcome)).toEqual(Array(6).fill("ok"));
  }, 60_000);

  test("concurrent executions on both replicas lose no bookkeeping", async () => {
    await a.run("return 1", { sessionId: "shared-2" });
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        (i % 2 ? a : b).run(`return ${i}`, { sessionId: "shared-2" }),
      ),
    );
    const fromB = await storeB.get("shared-2");
    expect(fromB!.counters.executions).toBe(9);
    expect(fromB!.log).toHaveLength(9);
    expect(new Set(fromB!.log.map((l) => l.executionId)).size).toBe(9);
  }, 60_000);

  test("context: a principal's sessions on both replicas share its keys, and racing updates lose nothing", async () => {
    await a.run(`await context.set("account", "acct-7"); return 1;`, {
      sessionId: "ctx-1",
      principal: "ana",
    });
    const read = await b.run(`return await context.get("account");`, {
      sessionId: "ctx-2",
      principal: "ana",
    });
    expect(read.value).toBe("acct-7");
    const other = await b.run(`return (await context.list()).length;`, {
      sessionId: "ctx-3",
      principal: "ben",
    });
    expect(other.value).toBe(0);

    // Eight sessions over both replicas read the counter, meet at a barrier, then race.
    const program = (i: number) => `
      let seen = (await context.get("n")) ?? 0;
      await context.set("ready/${i}", true);
      while (!(await context.get("go"))) await new Promise((r) => setTimeout(r, 20));
      for (let attempt = 0; attempt < 200; attempt++) {
        const r = await context.update("n", seen === 0 && attempt === 0 ? undefined : seen, seen + 1);
        if (r.ok) return attempt;
        seen = r.current;
      }
      throw new Error("no turn");`;
    const runs = Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        (i % 2 ? a : b).run(program(i), { sessionId: `race-${i}`, principal: "ana" }),
      ),
    );
    const api = await a.context({ principal: "ana", tenant: "acme" });
    for (let waited = 0; (await api.list("ready/")).length < 8; waited++) {
      if (waited > 1500) throw new Error("the sessions never all reached the barrier");
      await new Promise((r) => setTimeout(r, 20));
    }
    await api.set("go", true);
    const results = await runs;
    expect(await (await b.context({ principal: "ana", tenant: "acme" })).get("n")).toBe(8);
    expect(results.reduce((n, r) => n + (r.value as number), 0)).toBeGreaterThanOrEqual(7);
  }, 90_000);

  test("each replica lists the tenant's sessions and sees the other's delete", async () => {
    await b.run("return 'made on b'", { sessionId: "shared-3" });
    const listed = (await a.sessions.list("acme")).sessions.map((s) => s.id);
    expect(listed).toEqual(expect.arrayContaining(["shared-1", "shared-2", "shared-3"]));
    expect(await a.deleteSession("shared-3")).toBe(true);
    expect(await b.sessions.get("shared-3")).toBeUndefined();
    const caps = await b.capabilities();
    expect(caps.sessions).toEqual({ kind: "redis", reachable: true });
  }, 60_000);

  test("while Redis is down a run fails fast with SESSION_STORE_UNAVAILABLE; after, both replicas serve on", async () => {
    await a.run("state.kept = 'before'; return 1", { sessionId: "shared-4" });
    await server.kill("SIGKILL");
    const started = performance.now();
    const error = await b.run("return state.kept", { sessionId: "shared-4" }).catch((e) => e);
    expect(hasErrorCode(error, ErrorCodes.SESSION_STORE_UNAVAILABLE), String(error)).toBe(true);
    expect(performance.now() - started).toBeLessThan(2000);
    expect((await a.capabilities()).sessions).toMatchObject({ kind: "redis", reachable: false });

    await server.launch();
    for (const replica of [a, b]) {
      const deadline = Date.now() + 15_000;
      while (!(await replica.capabilities()).sessions.reachable) {
        if (Date.now() > deadline) throw new Error("the store did not come back");
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    // AOF kept the session across the restart; no optimizer was restarted.
    expect((await b.run("return state.kept", { sessionId: "shared-4" })).value).toBe("before");
  }, 60_000);
});

describe("sandboxConfig.redisUrl (the brief's setting) puts sessions in Redis", () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await RedisServer.start();
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });

  test("core loads this package by name and the session lives in Redis", async () => {
    const optimizer = new MCPOptimizer({
      sandboxConfig: { mode: "process", redisUrl: server.url },
    });
    try {
      await optimizer.start();
      expect(optimizer.sessions.kind).toBe("redis");
      await optimizer.run("state.seen = 'in redis'; return 1", { sessionId: "by-url" });
      const reader = createRedisSessionStore({ url: server.url });
      try {
        expect((await reader.get("by-url"))!.state).toEqual({ seen: "in redis" });
      } finally {
        await reader.close();
      }
    } finally {
      await optimizer.close();
    }
  }, 60_000);
});
