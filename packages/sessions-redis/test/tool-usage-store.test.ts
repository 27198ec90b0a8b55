import { createMemoryToolUsageStore, ToolCatalog } from "@mcp-optimizer/core";
import { describeToolUsageStore } from "@mcp-optimizer/core/testing";
import { afterAll, describe, expect, test } from "vitest";
import { createRedisToolUsageStore } from "../src/index.js";
import { RedisCluster, RedisServer } from "./redis-server.js";

// core's ToolUsageStore conformance suite against real Redis: one node, and a Cluster.
let server: RedisServer | undefined;
let cluster: RedisCluster | undefined;

describeToolUsageStore(
  "redis (single node)",
  async () => {
    server ??= await RedisServer.start();
    return createRedisToolUsageStore({ url: server.url, prefix: "usage:" });
  },
  { shared: true },
);

describeToolUsageStore(
  "redis (cluster)",
  async () => {
    cluster ??= await RedisCluster.start();
    return createRedisToolUsageStore({ cluster: cluster.nodes, prefix: "usage:" });
  },
  { shared: true, testTimeoutMs: 60_000 },
);

afterAll(async () => {
  await server?.stop();
  await cluster?.stop();
});

describe("learning shared by replicas", () => {
  test("sessions on two replicas teach one ranking; a store that is down leaves the lexical ranking", async () => {
    server ??= await RedisServer.start();
    const servers = [
      {
        name: "chat",
        tools: [
          { name: "post_message", description: "Post a message.", inputSchema: { type: "object" } },
          {
            name: "get_history",
            description: "Recent messages of a channel.",
            inputSchema: { type: "object" },
          },
          { name: "add_note", description: "Add a new note.", inputSchema: { type: "object" } },
        ],
      },
    ];
    const replica = () => {
      const catalog = new ToolCatalog();
      catalog.update(servers);
      const store = createRedisToolUsageStore({ url: server!.url, prefix: "learn:" });
      catalog.configureSearch({ usage: store });
      return { catalog, store };
    };
    const a = replica();
    const b = replica();
    const query = "anything new in the team room";
    const first = async (c: ToolCatalog) =>
      (await c.search(query, { tenant: "acme", limit: 1 }))[0]?.name;
    const before = await first(a.catalog);
    expect(before).not.toBe("chat.get_history");
    for (const [i, r] of [a, b, a, b].entries()) {
      const id = `s${i}`;
      await r.catalog.search(query, { tenant: "acme", sessionId: id });
      await r.catalog.search("channel history", { tenant: "acme", sessionId: id });
      r.catalog.noteCall("acme", id, "chat.get_history");
    }
    await new Promise((r) => setTimeout(r, 100)); // records are written in the background
    expect(await first(a.catalog)).toBe("chat.get_history");
    expect(await first(b.catalog)).toBe("chat.get_history");
    const local = new ToolCatalog();
    local.update(servers);
    local.configureSearch({ usage: createMemoryToolUsageStore() });
    expect((await local.search(query, { tenant: "acme", limit: 1 }))[0]?.name).toBe(before);
    await server!.stop();
    server = undefined;
    expect(await first(a.catalog)).toBe(before);
    await Promise.allSettled([a.store.close(), b.store.close()]);
  }, 60_000);
});
