import { ErrorCodes } from "@mcp-optimizer/core";
import { describeSessionStore } from "@mcp-optimizer/core/testing";
import { afterAll, describe, expect, test } from "vitest";
import { createRedisSessionStore } from "../src/index.js";
import { RedisCluster, rawCommand } from "./redis-server.js";

// core's conformance suite against a 3-master Redis Cluster of our own, plus what is
// particular to Cluster: one session's key in one slot, invalidation across nodes.
let cluster: RedisCluster | undefined;
const started = () =>
  cluster ? Promise.resolve(cluster) : RedisCluster.start().then((c) => (cluster = c));

describeSessionStore(
  "redis (3-master cluster)",
  async () => createRedisSessionStore({ cluster: (await started()).nodes, prefix: "conf:" }),
  { shared: true },
);

describe("redis cluster specifics", () => {
  test("sessions spread over the masters and writes reach another replica's listener", async () => {
    const { nodes } = await started();
    const a = createRedisSessionStore({ cluster: nodes, prefix: "spread:" });
    const b = createRedisSessionStore({ cluster: nodes, prefix: "spread:", cache: true });
    try {
      const ids = Array.from({ length: 30 }, (_, i) => `spread-${i}`);
      await Promise.all(ids.map((id) => a.create({ id, tenant: "t" })));
      // Each master holds some of them: count keys on every node directly.
      const sizes = await Promise.all(
        (cluster as RedisCluster).servers.map(async (s) =>
          Number((await rawCommand(s.port, "DBSIZE")).slice(1)),
        ),
      );
      expect(sizes.filter((n) => n > 0).length).toBe(3);
      // The hash tag: a session's key hashes like its bare id, whatever the prefix.
      for (const id of ids.slice(0, 3)) {
        const tagged = await a.client.call("CLUSTER", "KEYSLOT", `spread:s:{${id}}`);
        expect(tagged).toBe(await a.client.call("CLUSTER", "KEYSLOT", id));
      }
      const list = await b.list("t", { limit: 1000 });
      expect(list.sessions.map((s) => s.id).sort()).toEqual([...ids].sort());

      await waitFor(() => b.listening);
      const first = await b.get("spread-0");
      expect(first!.version).toBe(1);
      const heard: number[] = [];
      b.subscribe((change) => {
        if (change.id === "spread-0" && change.version !== null) heard.push(change.version);
      });
      await a.update("spread-0", 1, { ...first!, state: { from: "a" } });
      await waitFor(() => heard.length > 0);
      expect(heard).toEqual([2]);
      expect((await b.get("spread-0"))!.state).toEqual({ from: "a" });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe("redis cluster with a master killed", () => {
  test("fails fast with SESSION_STORE_UNAVAILABLE, then serves every session again by itself", async () => {
    const c = await started();
    const store = createRedisSessionStore({
      cluster: c.nodes,
      prefix: "fault:",
      maxReconnectDelayMs: 200,
    });
    try {
      const ids = Array.from({ length: 12 }, (_, i) => `cf-${i}`);
      for (const id of ids) await store.create({ id, state: { id } });
      const victim = c.servers[0]!;
      await victim.kill("SIGKILL");
      // Keys of the dead master fail at once; once the cluster marks itself down, all do.
      const codes = new Set<string>();
      for (const id of ids) {
        const begun = performance.now();
        await store.get(id).catch((e: { code: string }) => codes.add(e.code));
        expect(performance.now() - begun).toBeLessThan(1500);
      }
      expect([...codes]).toEqual([ErrorCodes.SESSION_STORE_UNAVAILABLE]);

      await victim.launch();
      // Same store, no restart: every session comes back, with its data (AOF).
      const deadline = Date.now() + 30_000;
      for (;;) {
        const got = await Promise.all(ids.map((id) => store.get(id).catch(() => undefined)));
        if (got.every((r, i) => r?.state.id === ids[i])) break;
        if (Date.now() > deadline) throw new Error("the cluster did not serve every session again");
        await new Promise((r) => setTimeout(r, 200));
      }
      const moved = (await store.get("cf-0"))!;
      expect(
        (await store.update("cf-0", moved.version, { ...moved, state: { id: "x" } })).version,
      ).toBe(2);
    } finally {
      await store.close();
    }
  }, 90_000);
});

async function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

afterAll(async () => {
  await cluster?.stop();
});
