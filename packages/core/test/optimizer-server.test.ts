import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  Client,
  ProtocolError,
  ResourceNotFoundError,
  StreamableHTTPClientTransport,
} from "@modelcontextprotocol/client";
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

    for (const era of ["legacy", "modern"] as const) {
      test(`a ${era} client gets -32602 with the path for arguments that fail a meta-tool's schema`, async () => {
        const client = new Client(
          { name: "test", version: "1.0.0" },
          era === "modern" ? { versionNegotiation: { mode: "auto" } } : {},
        );
        await client.connect(new StreamableHTTPClientTransport(new URL(http.url)));
        try {
          expect(client.getProtocolEra()).toBe(era);
          const refused = async (name: string, args: Record<string, unknown>) => {
            const error = await client.callTool({ name, arguments: args }).then(
              () => undefined,
              (e: unknown) => e,
            );
            expect(error).toBeInstanceOf(ProtocolError);
            expect((error as ProtocolError).code).toBe(-32602);
            return error as ProtocolError;
          };
          // A number for code never reaches the sandbox.
          const wrongType = await refused("execute_code", { code: 42 });
          expect(wrongType.message).toContain("/code must be string");
          expect(wrongType.data).toMatchObject({
            tool: "execute_code",
            issues: [{ path: "/code", message: "must be string" }],
          });
          const extra = await refused("execute_code", { code: "return 1", sudo: true });
          expect(extra.message).toContain("/sudo is not an argument of this tool");
          const missing = await refused("execute_code", {});
          expect(missing.message).toContain("/code is required");
          const limit = await refused("search_tools", { query: "echo", limit: 0 });
          expect(limit.message).toContain("/limit must be >= 1");
          const detail = await refused("search_tools", { query: "echo", detail: "everything" });
          expect(detail.message).toContain("/detail must be equal to one of the allowed values");
          const unknown = await refused("run_shell", { command: "id" });
          expect(unknown.message).toContain('Unknown tool "run_shell"');
          // Valid arguments still run.
          const ok = await client.callTool({
            name: "execute_code",
            arguments: { code: "return 6 * 7", session: `valid-${era}` },
          });
          expect(text(ok)).toBe("42");
        } finally {
          await client.close();
        }
      }, 60_000);

      test(`a ${era} client reading a resource that does not exist gets resource-not-found`, async () => {
        const client = new Client(
          { name: "test", version: "1.0.0" },
          era === "modern" ? { versionNegotiation: { mode: "auto" } } : {},
        );
        await client.connect(new StreamableHTTPClientTransport(new URL(http.url)));
        try {
          for (const uri of [
            "mcp-optimizer://types/nosuchserver.d.ts",
            "mcp-optimizer://types/everything/nosuchtool.d.ts",
            "mcp-optimizer://types/%E0%A4%A.d.ts",
            "file:///etc/passwd",
          ]) {
            const error = await client.readResource({ uri }).then(
              () => undefined,
              (e: unknown) => e,
            );
            // The current specification's code (SEP-2164): -32602 with data.uri, which SDK
            // clients turn into ResourceNotFoundError; never -32603 (internal error).
            expect(error, uri).toBeInstanceOf(ResourceNotFoundError);
            expect((error as ResourceNotFoundError).code).toBe(-32602);
            expect((error as ResourceNotFoundError).uri).toBe(uri);
          }
        } finally {
          await client.close();
        }
      }, 60_000);
    }
  });
});
