import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  createMemoryToolUsageStore,
  createOpenAIEmbedder,
  createOptimizerHttpServer,
  ErrorCodes,
  MCPOptimizer,
  reciprocalRankFusion,
  ToolCatalog,
  type UpstreamTool,
} from "../src/index.js";
import { describeEmbedder, describeToolUsageStore } from "../src/testing/index.js";
import { type EmbeddingsServer, startEmbeddingsServer } from "./helpers/embeddings-server.js";
import { memoryServer } from "./helpers/servers.js";

let embeddings: EmbeddingsServer;
beforeAll(async () => {
  embeddings = await startEmbeddingsServer();
});
afterAll(() => embeddings?.close());

const embedder = () =>
  createOpenAIEmbedder({ baseUrl: embeddings.url, model: "trigram-256", apiKey: "test-key-123" });

describeEmbedder("OpenAIEmbedder against a local /v1/embeddings server", embedder);
describeToolUsageStore("MemoryToolUsageStore", () => createMemoryToolUsageStore(), {
  shared: false,
});

const tool = (name: string, description: string, readOnly?: boolean): UpstreamTool => ({
  name,
  description,
  inputSchema: { type: "object", properties: {} },
  ...(readOnly !== undefined ? { annotations: { readOnlyHint: readOnly } } : {}),
});

const SERVERS = [
  {
    name: "memory",
    tools: [
      tool("read_graph", "Read the entire knowledge graph.", true),
      tool("search_nodes", "Search for nodes in the knowledge graph based on a query.", true),
      tool("create_entities", "Create multiple new entities in the knowledge graph."),
      tool("delete_entities", "Delete entities and their relations from the knowledge graph."),
    ],
  },
  {
    name: "files",
    tools: [
      tool("list_directory", "Get a detailed listing of all files and directories.", true),
      tool("read_text_file", "Read the complete contents of a file as text.", true),
      tool("write_file", "Create a new file or overwrite an existing file."),
    ],
  },
  {
    name: "chat",
    tools: [
      tool("post_message", "Post a new message to a channel."),
      tool("get_channel_history", "Get recent messages from a channel.", true),
    ],
  },
];

describe("the OpenAI-compatible embedder", () => {
  test("sends the model and key; refusals and outages are typed errors without the key", async () => {
    await embedder().embed(["hello"]);
    expect(embeddings.requests.at(-1)).toMatchObject({
      model: "trigram-256",
      authorization: "Bearer test-key-123",
    });
    const wrongKey = createOpenAIEmbedder({
      baseUrl: embeddings.url,
      model: "trigram-256",
      apiKey: "nope-secret",
    });
    const refused = await wrongKey.embed(["x"]).catch((e) => e);
    expect(refused.code).toBe(ErrorCodes.INVALID_CONFIG);
    expect(refused.message).toContain("Incorrect API key");
    expect(refused.message).not.toContain("nope-secret");
    const unknownModel = await createOpenAIEmbedder({
      baseUrl: embeddings.url,
      model: "nope",
      apiKey: "test-key-123",
    })
      .embed(["x"])
      .catch((e) => e);
    expect(unknownModel).toMatchObject({ code: ErrorCodes.INVALID_CONFIG });
    embeddings.failWith = 503;
    await expect(embedder().embed(["x"])).rejects.toMatchObject({
      code: ErrorCodes.UPSTREAM_UNAVAILABLE,
    });
    embeddings.failWith = undefined;
    await expect(
      createOpenAIEmbedder({ baseUrl: "http://127.0.0.1:9/v1", model: "m" }).embed(["x"]),
    ).rejects.toMatchObject({ code: ErrorCodes.UPSTREAM_UNAVAILABLE });
    expect(() => createOpenAIEmbedder({ baseUrl: "localhost:11434", model: "m" })).toThrow(/http/);
  });
});

describe("hybrid ranking: lexical and vector ranks fused", () => {
  test("reciprocal rank fusion adds 1 / (k + rank) over the lists", () => {
    const fused = reciprocalRankFusion(
      [
        [{ id: "a" }, { id: "b" }],
        [{ id: "b" }, { id: "c" }],
      ],
      60,
    );
    expect(fused.map((f) => f.id)).toEqual(["b", "a", "c"]);
    expect(fused[0]!.score).toBeCloseTo(1 / 62 + 1 / 61, 10);
  });

  test("a list's weight scales its contribution", () => {
    const lexical = Array.from({ length: 20 }, (_, i) => ({ id: `t${i + 1}` }));
    const vector = [{ id: "t20" }];
    expect(reciprocalRankFusion([lexical, vector], 60)[0]!.id).toBe("t20");
    const weak = reciprocalRankFusion([lexical, vector], 60, [1, 0.2]);
    expect(weak[0]!.id).toBe("t1");
    expect(weak.find((f) => f.id === "t20")!.score).toBeCloseTo(1 / 80 + 0.2 / 61, 10);
  });

  test("vectors find what words miss (a misspelt request); the lexical ranking stays in the fusion", async () => {
    const lexical = new ToolCatalog();
    lexical.update(SERVERS);
    const hybrid = new ToolCatalog();
    hybrid.update(SERVERS);
    hybrid.configureSearch({ embedder: embedder() });
    const query = "knowlege grapgh everything in it";
    const words = await lexical.search(query, { limit: 3 });
    expect(words.map((h) => h.name)).not.toContain("memory.read_graph");
    const fused = await hybrid.search(query, { limit: 3 });
    expect(fused[0]?.name).toMatch(/^memory\./);
    // A request words match well keeps its lexical winner.
    expect((await hybrid.search("post a message to the channel", { limit: 1 }))[0]?.name).toBe(
      "chat.post_message",
    );
  });

  test("tool vectors are cached per definition: a rebuild embeds only what changed", async () => {
    const catalog = new ToolCatalog();
    catalog.update(SERVERS);
    catalog.configureSearch({ embedder: embedder() });
    await catalog.search("read a file", { limit: 1 });
    const before = embeddings.inputs.length;
    catalog.update([
      ...SERVERS,
      { name: "extra", tools: [tool("ping", "Check that the server answers.", true)] },
    ]);
    await catalog.search("read a file again", { limit: 1 });
    const embedded = embeddings.inputs.slice(before);
    expect(embedded).toHaveLength(2); // the new tool and the new query
    expect(embedded.some((t) => t.includes("extra ping"))).toBe(true);
  });

  test("an embedder that fails leaves the lexical ranking", async () => {
    const catalog = new ToolCatalog();
    catalog.update(SERVERS);
    catalog.configureSearch({
      embedder: createOpenAIEmbedder({
        baseUrl: "http://127.0.0.1:9/v1",
        model: "m",
        timeoutMs: 500,
      }),
    });
    expect((await catalog.search("post a message", { limit: 1 }))[0]?.name).toBe(
      "chat.post_message",
    );
  });
});

describe("learned from use", () => {
  /**
   * One simulated session: it searches with the user's words, then (as a model does when the
   * first hits miss) with the tool's own words, and calls what the user wanted.
   */
  const session = async (
    catalog: ToolCatalog,
    tenant: string,
    id: string,
    query: string,
    tool: string,
  ) => {
    await catalog.search(query, { tenant, sessionId: id, limit: 5 });
    await catalog.search(tool.replace(/[._]/g, " "), { tenant, sessionId: id, limit: 5 });
    catalog.noteCall(tenant, id, tool);
    await new Promise((r) => setTimeout(r, 0));
  };

  test("calls after searches rank later searches of the same tenant; one session alone changes nothing", async () => {
    const store = createMemoryToolUsageStore();
    const catalog = new ToolCatalog();
    catalog.update(SERVERS);
    catalog.configureSearch({ usage: store });
    const query = "what's new in the team room";
    const first = async (tenant: string) =>
      (await catalog.search(query, { tenant, limit: 1 }))[0]?.name;
    const before = await first("acme");
    expect(before).not.toBe("chat.get_channel_history");
    await session(catalog, "acme", "s1", query, "chat.get_channel_history");
    expect(await first("acme")).toBe(before); // one session alone changes nothing
    await session(catalog, "acme", "s2", "anything new in the room", "chat.get_channel_history");
    await session(catalog, "acme", "s3", "what's new in our room", "chat.get_channel_history");
    expect(await first("acme")).toBe("chat.get_channel_history");
    expect(await first("globex")).toBe(before); // another tenant learned nothing
  });

  test("one session repeating itself a thousand times cannot poison the ranking", async () => {
    const store = createMemoryToolUsageStore();
    const catalog = new ToolCatalog();
    catalog.update(SERVERS);
    catalog.configureSearch({ usage: store });
    const before = (await catalog.search("delete the entities", { tenant: "acme", limit: 1 }))[0]
      ?.name;
    for (let i = 0; i < 1000; i++)
      await session(catalog, "acme", "attacker", "delete the entities", "chat.post_message");
    expect(
      (await catalog.search("delete the entities", { tenant: "acme", limit: 1 }))[0]?.name,
    ).toBe(before);
    expect(before).toBe("memory.delete_entities");
  });

  test("a call not preceded by a search that listed the tool teaches nothing", async () => {
    const store = createMemoryToolUsageStore();
    const catalog = new ToolCatalog();
    catalog.update(SERVERS);
    catalog.configureSearch({ usage: store });
    await catalog.search("post a message", { tenant: "acme", sessionId: "s1", limit: 1 });
    catalog.noteCall("acme", "s1", "files.write_file"); // not among the hits of its searches
    catalog.noteCall("acme", "s2", "chat.post_message"); // no search in that session
    expect((await store.lookup("acme", ["post", "messag"])).size).toBe(0);
  });
});

describe("learned from use through the engine", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "mcpo-learn-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("a program's mcp.search followed by a call is recorded for its tenant", async () => {
    const store = createMemoryToolUsageStore();
    const optimizer = new MCPOptimizer({
      sandboxConfig: { mode: "process" },
      mcpServers: { memory: memoryServer(join(dir, "g.jsonl")) },
      sessionDefaults: { tenant: "acme" },
    });
    optimizer.catalog.configureSearch({ usage: store });
    try {
      await optimizer.run(`
        const hits = await mcp.search("show me everything you remember", { limit: 5 });
        const target = hits.find((h) => h.name === "memory.read_graph");
        return await memory.read_graph({});
      `);
      const found = await store.lookup("acme", ["rememb"]);
      expect(found.get("rememb")?.get("memory.read_graph")).toBe(1);
    } finally {
      await optimizer.close();
    }
  }, 30_000);

  test("search_tools then execute_code over Streamable HTTP teaches the ranking of that client's tenant", async () => {
    const store = createMemoryToolUsageStore();
    const optimizer = new MCPOptimizer({
      sandboxConfig: { mode: "process" },
      mcpServers: { memory: memoryServer(join(dir, "h.jsonl")) },
      sessionDefaults: { tenant: "acme" },
    });
    optimizer.catalog.configureSearch({ usage: store });
    const http = await createOptimizerHttpServer(optimizer);
    const client = new Client({ name: "learn", version: "1.0.0" });
    try {
      // A 2025-era client: its Mcp-Session-Id is the session of both meta-tools.
      await client.connect(new StreamableHTTPClientTransport(new URL(http.url)));
      const search = await client.callTool({
        name: "search_tools",
        arguments: { query: "show me everything you remember", limit: 5 },
      });
      expect(JSON.stringify(search)).toContain("memory.read_graph");
      const run = await client.callTool({
        name: "execute_code",
        arguments: { code: "return await memory.read_graph({})" },
      });
      expect((run as { isError?: boolean }).isError).toBeFalsy();
      await optimizer.catalog.flushSearch();
      const found = await store.lookup("acme", ["rememb"]);
      expect(found.get("rememb")?.get("memory.read_graph")).toBe(1);
      expect((await store.lookup("globex", ["rememb"])).size).toBe(0);
    } finally {
      await client.close();
      await http.close();
      await optimizer.close();
    }
  }, 60_000);
});
