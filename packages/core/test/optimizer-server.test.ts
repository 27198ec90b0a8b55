import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createOptimizerHttpServer, MCPOptimizer, type OptimizerHttpServer } from "../src/index.js";
import { everythingServer, filesystemServer, memoryServer } from "./helpers/servers.js";

type TextResult = { content: { type: string; text: string }[]; isError?: boolean };
const text = (r: unknown) => (r as TextResult).content.map((c) => c.text).join("\n");

let dir: string;
let servers: Record<string, unknown>;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "mcpo-server-"));
  // A large listing to filter in code: 2,000 files.
  for (let i = 0; i < 2000; i++)
    writeFileSync(
      join(dir, `file-${String(i).padStart(4, "0")}.${i % 100 === 7 ? "md" : "txt"}`),
      `content ${i}`,
    );
  servers = {
    everything: everythingServer(),
    files: filesystemServer(dir),
    memory: memoryServer(join(mkdtempSync(join(tmpdir(), "mcpo-memory-")), "memory.jsonl")),
  };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function exercise(client: Client) {
  const { tools } = await client.listTools();
  expect(tools.map((t) => t.name).sort()).toEqual(["execute_code", "search_tools"]);
  const execute = tools.find((t) => t.name === "execute_code")!;
  expect(execute.description).toContain("- everything (");
  expect(execute.description).toContain("- files (");
  expect(execute.description).toContain("mcp.search(");

  const search = await client.callTool({
    name: "search_tools",
    arguments: { query: "list directory", detail: "signature" },
  });
  expect(text(search)).toContain("files.list_directory(");

  // Chains several upstreams and filters a large listing in code: a small result comes back.
  const run = await client.callTool({
    name: "execute_code",
    arguments: {
      code: `
        const listing = await files.list_directory({ path: ${JSON.stringify(dir)} });
        const lines = String(listing.content ?? listing).split("\\n");
        const markdown = lines.filter((l) => l.endsWith(".md"));
        await memory.create_entities({ entities: [{ name: "scan", entityType: "report", observations: [markdown.length + " markdown files"] }] });
        const graph = await memory.read_graph({});
        const echo = await everything.echo({ message: "done" });
        return { total: lines.length, markdown: markdown.length, entities: graph.entities.length, echo };
      `,
    },
  });
  expect((run as TextResult).isError).toBeFalsy();
  const value = JSON.parse(text(run).split("\n\n[session")[0]!);
  expect(value).toMatchObject({ total: 2000, markdown: 20, entities: 1 });
  const meta = (run as { _meta?: Record<string, { tokens: { used: number; plainMcp: number } }> })
    ._meta!["mcp-optimizer/execution"]!;
  expect(meta.tokens.plainMcp).toBeGreaterThan(meta.tokens.used * 5);

  // state persists across executions of the same connection
  await client.callTool({
    name: "execute_code",
    arguments: { code: "state.n = 41; return 'set'" },
  });
  const again = await client.callTool({
    name: "execute_code",
    arguments: { code: "return state.n + 1" },
  });
  expect(text(again)).toMatch(/^42/);

  // errors come back as tool errors with the code
  const bad = await client.callTool({
    name: "execute_code",
    arguments: { code: "await everything.nope({})" },
  });
  expect((bad as TextResult).isError).toBe(true);
  expect(text(bad)).toMatch(/^TOOL_NOT_FOUND: /);

  // the generated types as a browsable tree of resources
  const { resources } = await client.listResources();
  const uris = resources.map((r) => r.uri);
  expect(uris).toContain("mcp-optimizer://types/globals.d.ts");
  expect(uris).toContain("mcp-optimizer://types/files.d.ts");
  expect(uris).toContain("mcp-optimizer://types/everything/echo.d.ts");
  const dts = await client.readResource({
    uri: "mcp-optimizer://types/everything/get-structured-content.d.ts",
  });
  expect((dts.contents[0] as { text: string }).text).toContain("get_structured_content");
}

describe("the model-facing server", () => {
  test("over stdio, driven by the SDK client", async () => {
    const script = fileURLToPath(new URL("./fixtures/serve-stdio.mjs", import.meta.url));
    const client = new Client({ name: "test", version: "1.0.0" });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [script, JSON.stringify({ mcpServers: servers })],
        stderr: "pipe",
      }),
    );
    try {
      await exercise(client);
    } finally {
      await client.close();
    }
  }, 90_000);

  describe("over Streamable HTTP", () => {
    let optimizer: MCPOptimizer;
    let http: OptimizerHttpServer;
    beforeAll(async () => {
      optimizer = new MCPOptimizer({ mcpServers: servers });
      http = await createOptimizerHttpServer(optimizer);
    }, 60_000);
    afterAll(async () => {
      await http?.close();
      await optimizer?.close();
    });

    test("a 2025-era client gets an Mcp-Session-Id session that keeps state", async () => {
      const client = new Client({ name: "test", version: "1.0.0" });
      await client.connect(new StreamableHTTPClientTransport(new URL(http.url)));
      try {
        expect(client.getProtocolEra()).toBe("legacy");
        await exercise(client);
        expect(http.legacySessions).toBe(1);
      } finally {
        await client.close();
      }
    }, 90_000);

    test("a 2026-era client is served per request; the session argument keeps state", async () => {
      const client = new Client(
        { name: "test", version: "1.0.0" },
        { versionNegotiation: { mode: "auto" } },
      );
      await client.connect(new StreamableHTTPClientTransport(new URL(http.url)));
      try {
        expect(client.getProtocolEra()).toBe("modern");
        const first = await client.callTool({
          name: "execute_code",
          arguments: { code: "state.x = 'kept'; return 1" },
        });
        const session = text(first).match(/\[session ([^:]+):/)?.[1];
        expect(session).toBeTruthy();
        const second = await client.callTool({
          name: "execute_code",
          arguments: { code: "return state.x", session },
        });
        expect(text(second)).toBe("kept");
      } finally {
        await client.close();
      }
    }, 60_000);
  });
});
