import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  approximateTokenizer,
  canonicalJson,
  createCallMemo,
  createMcpUpstream,
  createMemoryAuditSink,
  createMemoryCallCache,
  createRedactor,
  ExecutionHost,
  type ExecutionHostDeps,
  MCPOptimizer,
  type McpUpstream,
  type MemoryAuditSink,
  type MemoryCallCache,
  memoSettings,
  parseMcpServers,
  Telemetry,
  ToolCatalog,
  ValidatorCache,
} from "../src/index.js";
import { describeCallCache } from "../src/testing/index.js";
import { memoryServer } from "./helpers/servers.js";

describeCallCache("MemoryCallCache", () => createMemoryCallCache(), { shared: false });

describe("memoised read-only calls through the execution host (server-memory over stdio)", () => {
  let dir: string;
  let upstream: McpUpstream;
  let catalog: ToolCatalog;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "mcpo-memo-"));
    upstream = createMcpUpstream({
      name: "memory",
      server: memoryServer(join(dir, "graph.jsonl")),
    });
    await upstream.connect();
    catalog = new ToolCatalog();
    catalog.update([{ name: "memory", tools: await upstream.listTools() }]);
  }, 30_000);
  afterAll(async () => {
    await upstream?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const setup = (cache: MemoryCallCache, memo: unknown = { ttlMs: 60_000 }) => {
    const audit = createMemoryAuditSink();
    const deps: ExecutionHostDeps = {
      catalog,
      upstreams: new Map([["memory", upstream]]),
      redactor: createRedactor([]),
      audit: [audit],
      telemetry: new Telemetry({ metrics: false, traces: false }),
      tokenizer: () => approximateTokenizer,
      retry: {},
      validators: new ValidatorCache(),
      auditArguments: true,
      memo: createCallMemo({
        cache,
        servers: {
          memory: parseMcpServers({ memory: { command: "x", memo } }).servers.memory!.memo,
        },
      }),
    };
    let n = 0;
    const host = (tenant = "acme") =>
      new ExecutionHost(
        deps,
        { executionId: `e${++n}`, sessionId: `s${n}`, tenant, actor: "test", allow: {} },
        Date.now() + 20_000,
      );
    return { host, audit };
  };

  test("a repeated read in a later execution comes from the cache, says so, and still counts for plain MCP", async () => {
    const { host, audit } = setup(createMemoryCallCache());
    const first = host();
    const a = await first.callTool("memory", "read_graph", {});
    const second = host();
    const b = await second.callTool("memory", "read_graph", {});
    expect(b).toEqual(a);
    expect(first.toolCalls[0]!.cached).toBeUndefined();
    expect(second.toolCalls[0]).toMatchObject({ tool: "read_graph", outcome: "ok", cached: true });
    const records = (audit as MemoryAuditSink).records().filter((r) => r.type === "tool_call");
    expect(records.map((r) => ("cached" in r ? r.cached === true : false))).toEqual([false, true]);
    expect(records[1]).toMatchObject({ attempts: 0 });
    expect(await second.plainMcpCallTokens()).toBe(await first.plainMcpCallTokens());
    expect(await second.plainMcpCallTokens()).toBeGreaterThan(0);
  });

  test("a write to the server invalidates its entries: the next read sees the new data", async () => {
    const { host } = setup(createMemoryCallCache());
    const before = (await host().callTool("memory", "read_graph", {})).structuredContent;
    await host().callTool("memory", "create_entities", {
      entities: [{ name: "Ada", entityType: "person", observations: ["wrote programs"] }],
    });
    const reader = host();
    const after = await reader.callTool("memory", "read_graph", {});
    expect(reader.toolCalls[0]!.cached).toBeUndefined();
    expect(JSON.stringify(after)).toContain("Ada");
    expect(JSON.stringify(before)).not.toContain("Ada");
    const again = host();
    await again.callTool("memory", "read_graph", {});
    expect(again.toolCalls[0]!.cached).toBe(true);
  });

  test("entries are per tenant and per canonical arguments (key order does not matter)", async () => {
    const { host } = setup(createMemoryCallCache());
    await host("acme").callTool("memory", "open_nodes", { names: ["Ada", "Bob"] });
    const sameArgs = host("acme");
    await sameArgs.callTool("memory", "open_nodes", { names: ["Ada", "Bob"] });
    expect(sameArgs.toolCalls[0]!.cached).toBe(true);
    const otherTenant = host("globex");
    await otherTenant.callTool("memory", "open_nodes", { names: ["Ada", "Bob"] });
    expect(otherTenant.toolCalls[0]!.cached).toBeUndefined();
    const otherArgs = host("acme");
    await otherArgs.callTool("memory", "open_nodes", { names: ["Bob", "Ada"] });
    expect(otherArgs.toolCalls[0]!.cached).toBeUndefined();
    expect(canonicalJson({ b: 1, a: { d: 2, c: [3, { f: 4, e: 5 }] } })).toBe(
      '{"a":{"c":[3,{"e":5,"f":4}],"d":2},"b":1}',
    );
  });

  test("memo: false (or absent) never caches; memo.tools adds a tool that is not annotated read-only", async () => {
    const off = setup(createMemoryCallCache(), false);
    await off.host().callTool("memory", "read_graph", {});
    const second = off.host();
    await second.callTool("memory", "read_graph", {});
    expect(second.toolCalls[0]!.cached).toBeUndefined();

    const cache = createMemoryCallCache();
    const listed = setup(cache, { tools: ["create_relations"] });
    const args = { relations: [{ from: "Ada", to: "Ada", relationType: "knows" }] };
    await listed.host().callTool("memory", "create_relations", args);
    const again = listed.host();
    await again.callTool("memory", "create_relations", args);
    expect(again.toolCalls[0]!.cached).toBe(true);
  });

  test("a cache that fails is a miss: the call still reaches the server", async () => {
    const broken = createMemoryCallCache();
    broken.get = async () => {
      throw new Error("backend down");
    };
    const { host } = setup(broken);
    const h = host();
    const r = await h.callTool("memory", "read_graph", {});
    expect(r.isError ?? false).toBe(false);
    expect(h.toolCalls[0]).toMatchObject({ outcome: "ok" });
    expect(h.toolCalls[0]!.cached).toBeUndefined();
  });
});

describe("memoised calls through the engine", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "mcpo-memo-engine-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("a second execution's read comes from the cache: toolCalls say so, plain-MCP figures stay", async () => {
    // `memo` in mcpServers alone turns it on (a memory cache); `memo:` passes a shared one.
    const servers = { memory: { ...memoryServer(join(dir, "g.jsonl")), memo: { ttlMs: 60_000 } } };
    const optimizer = new MCPOptimizer({ sandboxConfig: { mode: "process" }, mcpServers: servers });
    try {
      const code = "return (await memory.read_graph({})).entities.length";
      const first = await optimizer.run(code, { sessionId: "a" });
      const second = await optimizer.run(code, { sessionId: "b" });
      expect(first.toolCalls[0]!.cached).toBeUndefined();
      expect(second.toolCalls[0]).toMatchObject({ tool: "read_graph", cached: true });
      expect(second.value).toBe(first.value);
      expect(second.tokens.plainMcp).toBe(first.tokens.plainMcp);
      await optimizer.run(
        "await memory.create_entities({ entities: [{ name: 'X', entityType: 't', observations: [] }] })",
        { sessionId: "c" },
      );
      const third = await optimizer.run(code, { sessionId: "d" });
      expect(third.toolCalls[0]!.cached).toBeUndefined();
      expect(third.value).toBe((first.value as number) + 1);
    } finally {
      await optimizer.close();
    }
  }, 30_000);
});
