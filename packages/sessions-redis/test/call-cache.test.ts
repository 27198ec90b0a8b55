import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import {
  approximateTokenizer,
  createCallMemo,
  createMcpUpstream,
  createRedactor,
  ExecutionHost,
  Telemetry,
  ToolCatalog,
  ValidatorCache,
} from "@mcp-optimizer/core";
import { describeCallCache } from "@mcp-optimizer/core/testing";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createRedisCallCache } from "../src/index.js";
import { RedisCluster, RedisServer } from "./redis-server.js";

// core's CallCache conformance suite against real Redis: one node, and a three-master Cluster.
let server: RedisServer | undefined;
let cluster: RedisCluster | undefined;

describeCallCache(
  "redis (single node)",
  async () => {
    server ??= await RedisServer.start();
    return createRedisCallCache({ url: server.url, prefix: "memo:" });
  },
  { shared: true },
);

describeCallCache(
  "redis (cluster)",
  async () => {
    cluster ??= await RedisCluster.start();
    return createRedisCallCache({ cluster: cluster.nodes, prefix: "memo:" });
  },
  { shared: true, testTimeoutMs: 60_000 },
);

afterAll(async () => {
  await server?.stop();
  await cluster?.stop();
});

const require = createRequire(import.meta.url);
const everything = join(
  dirname(require.resolve("@modelcontextprotocol/server-everything/package.json")),
  "dist",
  "index.js",
);

describe("two replicas share memoised results through Redis", () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(() => redis?.stop());

  test("a read on one replica is a hit on the other; a write on either invalidates both; Redis down is a miss", async () => {
    const upstream = createMcpUpstream({
      name: "everything",
      server: { command: process.execPath, args: [everything, "stdio"] },
    });
    await upstream.connect();
    const catalog = new ToolCatalog();
    catalog.update([{ name: "everything", tools: await upstream.listTools() }]);
    const replica = () => {
      const cache = createRedisCallCache({ url: redis.url, commandTimeoutMs: 500 });
      const memo = createCallMemo({ cache, servers: { everything: { ttlMs: 60_000 } } });
      let n = 0;
      return {
        memo,
        host: () =>
          new ExecutionHost(
            {
              catalog,
              upstreams: new Map([["everything", upstream]]),
              redactor: createRedactor([]),
              audit: [],
              telemetry: new Telemetry({ metrics: false, traces: false }),
              tokenizer: () => approximateTokenizer,
              retry: { attempts: 1 },
              validators: new ValidatorCache(),
              auditArguments: false,
              memo,
            },
            { executionId: `e${++n}`, sessionId: `s${n}`, tenant: "acme", actor: "t", allow: {} },
            Date.now() + 20_000,
          ),
      };
    };
    const a = replica();
    const b = replica();
    try {
      const first = a.host();
      await first.callTool("everything", "get-sum", { a: 2, b: 40 });
      const second = b.host();
      const r = await second.callTool("everything", "get-sum", { a: 2, b: 40 });
      expect(JSON.stringify(r)).toContain("42");
      expect(second.toolCalls[0]!.cached).toBe(true);
      // toggle-simulated-logging is not read-only: calling it drops the server's entries everywhere.
      await b.host().callTool("everything", "toggle-simulated-logging", {});
      const third = a.host();
      await third.callTool("everything", "get-sum", { a: 2, b: 40 });
      expect(third.toolCalls[0]!.cached).toBeUndefined();
      await redis.stop();
      const fourth = a.host();
      const down = await fourth.callTool("everything", "get-sum", { a: 2, b: 40 });
      expect(JSON.stringify(down)).toContain("42");
      expect(fourth.toolCalls[0]).toMatchObject({ outcome: "ok" });
      expect(fourth.toolCalls[0]!.cached).toBeUndefined();
    } finally {
      await Promise.allSettled([a.memo.close(), b.memo.close(), upstream.close()]);
    }
  }, 60_000);
});
