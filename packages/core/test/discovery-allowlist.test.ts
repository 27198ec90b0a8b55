import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ErrorCodes, MCPOptimizer } from "../src/index.js";
import { everythingServer, filesystemServer } from "./helpers/servers.js";

// Discovery shows exactly what a session may call: the guest's globals, mcp.search,
// mcp.describe, the optimizer's search and describe, the model-facing server's search_tools,
// resources and types, and the meta-tools' server list.

const ALLOW = {
  servers: ["everything"],
  tools: ["everything.*"],
  deny: ["everything.get-env", "everything.echo"],
};

describe("discovery follows the session's allowlist", () => {
  let optimizer: MCPOptimizer;
  beforeAll(async () => {
    optimizer = new MCPOptimizer({
      sandboxConfig: { mode: "process" },
      mcpServers: { everything: everythingServer(), files: filesystemServer("/tmp") },
    });
    await optimizer.start();
    await optimizer.run("return 1", { sessionId: "narrow", allow: ALLOW });
  }, 60_000);
  afterAll(async () => {
    await optimizer?.close();
  });

  test("inside the program: globals, mcp.search and mcp.describe show only allowed tools", async () => {
    const { value } = await optimizer.run(
      `const found = [];
       for (const q of ["echo a message", "environment variables", "add two numbers", "read a file", "list directory"])
         for (const h of await mcp.search(q, { limit: 50, detail: "name" })) found.push(h.name);
       let described = null;
       try { await mcp.describe("everything.get-env"); } catch (e) { described = e.code; }
       let other = null;
       try { await mcp.describe("files.read_file"); } catch (e) { other = e.code; }
       return {
         found: [...new Set(found)],
         globals: typeof files,
         keys: Object.keys(everything),
         described,
         other,
         sum: (await mcp.describe("everything.get-sum")).name,
       };`,
      { sessionId: "narrow" },
    );
    const v = value as {
      found: string[];
      globals: string;
      keys: string[];
      described: string;
      other: string;
      sum: string;
    };
    expect(v.found.length).toBeGreaterThan(0);
    expect(v.found.every((n) => n.startsWith("everything."))).toBe(true);
    expect(v.found).not.toContain("everything.get-env");
    expect(v.found).not.toContain("everything.echo");
    expect(v.globals).toBe("undefined");
    expect(v.keys).not.toContain("echo");
    expect(v.keys).not.toContain("get_env");
    expect(v.keys).toContain("get_sum");
    expect(v.described).toBe(ErrorCodes.TOOL_DENIED);
    expect(v.other).toBe(ErrorCodes.TOOL_DENIED);
    expect(v.sum).toBe("everything.get-sum");
  }, 30_000);

  test("the optimizer's search and describe for that session", async () => {
    const hits = await optimizer.search("echo environment file", {
      limit: 50,
      sessionId: "narrow",
    });
    expect(
      hits.every((h) => h.server === "everything" && h.tool !== "echo" && h.tool !== "get-env"),
    ).toBe(true);
    await expect(
      optimizer.describe("everything.echo", { sessionId: "narrow" }),
    ).rejects.toMatchObject({
      code: ErrorCodes.TOOL_DENIED,
    });
    // Without a session (or for one with no allowlist) everything is visible.
    expect((await optimizer.search("echo", { limit: 50 })).some((h) => h.tool === "echo")).toBe(
      true,
    );
    expect((await optimizer.describe("everything.echo")).name).toBe("everything.echo");
  });
});

describe("the model-facing server under a default allowlist", () => {
  let client: Client;
  beforeAll(async () => {
    const script = fileURLToPath(new URL("./fixtures/serve-stdio.mjs", import.meta.url));
    client = new Client({ name: "test", version: "1.0.0" });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [
          script,
          JSON.stringify({
            mcpServers: { everything: everythingServer(), files: filesystemServer("/tmp") },
            sessionDefaults: { allow: ALLOW },
          }),
        ],
        stderr: "pipe",
      }),
    );
  }, 60_000);
  afterAll(async () => {
    await client?.close();
  });

  test("tools/list, search_tools, resources and types show only what may be called", async () => {
    const { tools } = await client.listTools();
    const execute = tools.find((t) => t.name === "execute_code")!;
    expect(execute.description).toContain("everything");
    expect(execute.description).not.toMatch(/\bfiles\b/);

    const search = await client.callTool({
      name: "search_tools",
      arguments: { query: "echo environment read file directory", limit: 50, detail: "name" },
    });
    const text = (search.content as { text: string }[])[0]!.text;
    expect(text).not.toMatch(/everything\.echo\b|get_env|files\./);

    const { resources } = await client.listResources();
    const uris = resources.map((r) => r.uri);
    expect(uris.some((u) => u.includes("/files"))).toBe(false);
    expect(uris.some((u) => u.endsWith("/everything/echo.d.ts"))).toBe(false);
    expect(uris.some((u) => u.endsWith("/everything/get-sum.d.ts"))).toBe(true);

    const serverTypes = await client.readResource({ uri: "mcp-optimizer://types/everything.d.ts" });
    const dts = (serverTypes.contents[0] as { text: string }).text;
    expect(dts).toContain("get_sum");
    expect(dts).not.toMatch(/\becho\(/);
    const globals = await client.readResource({ uri: "mcp-optimizer://types/globals.d.ts" });
    expect((globals.contents[0] as { text: string }).text).not.toMatch(/\bfiles\b/);
    await expect(
      client.readResource({ uri: "mcp-optimizer://types/everything/echo.d.ts" }),
    ).rejects.toThrow(/not visible to this session/);
    await expect(client.readResource({ uri: "mcp-optimizer://types/files.d.ts" })).rejects.toThrow(
      /not visible to this session/,
    );
  }, 30_000);
});
