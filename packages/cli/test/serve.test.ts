import { writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { createServer } from "node:net";
import { join } from "node:path";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { beforeAll, describe, expect, test } from "vitest";
import { BIN, cli, exited, serverBin, startCli, tempDir, writeServersConfig } from "./helpers.js";

type TextResult = { content: { type: string; text: string }[]; isError?: boolean };
const text = (r: unknown) => (r as TextResult).content.map((c) => c.text).join("\n");

let dir: string;
let config: string;

beforeAll(() => {
  dir = tempDir("mcpo-serve-");
  for (let i = 0; i < 500; i++)
    writeFileSync(join(dir, `note-${i}.${i % 50 === 0 ? "md" : "txt"}`), `note ${i}`);
  config = writeServersConfig(dir);
});

/** What a model does: list the meta-tools, search, run a program that chains two servers. */
async function exercise(client: Client) {
  const { tools } = await client.listTools();
  expect(tools.map((t) => t.name).sort()).toEqual(["execute_code", "search_tools"]);
  const search = await client.callTool({
    name: "search_tools",
    arguments: { query: "list directory", detail: "name" },
  });
  expect(text(search)).toContain("files.list_directory");
  const run = await client.callTool({
    name: "execute_code",
    arguments: {
      code: `const listing = await files.list_directory({ path: ${JSON.stringify(dir)} });
const md = listing.content.split("\\n").filter((l) => l.endsWith(".md"));
await memory.create_entities({ entities: [{ name: "scan", entityType: "report", observations: [md.length + " notes"] }] });
const graph = await memory.read_graph({});
state.seen = md.length;
return { md: md.length, entities: graph.entities.length };`,
    },
  });
  expect((run as TextResult).isError).toBeFalsy();
  expect(JSON.parse(text(run).split("\n\n[session")[0]!)).toEqual({ md: 10, entities: 1 });
  const again = await client.callTool({
    name: "execute_code",
    arguments: { code: "return state.seen * 2" },
  });
  expect(text(again)).toMatch(/^20/);
  const bad = await client.callTool({
    name: "execute_code",
    arguments: { code: "await files.nope({})" },
  });
  expect((bad as TextResult).isError).toBe(true);
  expect(text(bad)).toMatch(/^TOOL_NOT_FOUND: /);
}

/** What an MCP client does: start `mcp-optimizer serve --config FILE` over stdio and connect. */
async function connectStdio(configFile: string): Promise<{ client: Client; stderr: () => string }> {
  const client = new Client({ name: "cli-test", version: "1.0.0" });
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, "serve", "--config", configFile],
    stderr: "pipe",
    env: { ...(process.env as Record<string, string>), MCPO_CONFIG: "" },
  });
  let stderr = "";
  transport.stderr?.on("data", (d) => {
    stderr += String(d);
  });
  await client.connect(transport);
  return { client, stderr: () => stderr };
}

describe("serve", () => {
  test("over stdio: an MCP client starts `mcp-optimizer serve` and uses code mode", async () => {
    const { client, stderr } = await connectStdio(config);
    try {
      await exercise(client);
      expect(stderr()).toContain("serving on stdio (2/2 servers");
    } finally {
      await client.close();
    }
  });

  test("over stdio with the default sandbox (wasm, or its process fallback): stdout stays the protocol's", async () => {
    const defaults = writeServersConfig(dir, { sandbox: {} });
    const { client, stderr } = await connectStdio(defaults);
    try {
      await exercise(client);
      expect(stderr()).toContain(
        stderr().includes("falling back to the process sandbox")
          ? "sandbox process"
          : "sandbox wasm",
      );
    } finally {
      await client.close();
    }
  });

  test("a server whose ${VAR} is unset is left out, named in one line, and the others serve", async () => {
    const partial = join(dir, "partial.json");
    writeFileSync(
      partial,
      JSON.stringify({
        mcpServers: {
          github: {
            command: "npx",
            args: ["-y", "@modelcontextprotocol/server-github"],
            env: {
              GITHUB_TOKEN: "${MCPO_TEST_UNSET_GH}",
              GITHUB_HOST: "${MCPO_TEST_UNSET_GHHOST}",
            },
          },
          files: {
            command: process.execPath,
            args: [serverBin("@modelcontextprotocol/server-filesystem"), dir],
          },
        },
        sandbox: { mode: "process" },
      }),
    );
    const { client, stderr } = await connectStdio(partial);
    try {
      const r = await client.callTool({
        name: "execute_code",
        arguments: {
          code: "return typeof github + ' ' + (await files.list_allowed_directories({})).content.length",
        },
      });
      expect((r as TextResult).isError).toBeFalsy();
      expect(text(r)).toMatch(/^undefined \d+/);
      const note = stderr()
        .split("\n")
        .filter((l) => l.includes("MCPO_TEST_UNSET_"));
      expect(note).toHaveLength(1);
      expect(note[0]).toContain("github left out");
      expect(note[0]).toContain("mcpServers.github.env.GITHUB_TOKEN uses ${MCPO_TEST_UNSET_GH}");
      expect(note[0]).toContain("mcpServers.github.env.GITHUB_HOST uses ${MCPO_TEST_UNSET_GHHOST}");
      expect(stderr()).toContain("serving on stdio (1/1 servers");
    } finally {
      await client.close();
    }
    // --strict keeps the old refusal: exit 3, before serving.
    const strict = await cli(["serve", "--strict", "--config", partial]);
    expect(strict.code).toBe(3);
    expect(strict.stderr).toContain("Export MCPO_TEST_UNSET_GH, MCPO_TEST_UNSET_GHHOST");
  });

  test("over Streamable HTTP on a free port; SIGTERM stops it with exit 0", async () => {
    const served = await startCli(["serve", "--http", "127.0.0.1:0", "--config", config]);
    try {
      expect(served.firstLine).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
      const client = new Client({ name: "cli-test", version: "1.0.0" });
      await client.connect(new StreamableHTTPClientTransport(new URL(served.firstLine)));
      try {
        await exercise(client);
      } finally {
        await client.close();
      }
      expect(served.stderr()).toContain(`serving ${served.firstLine}`);
      expect(served.stderr()).toContain("; no authentication)");
      expect(served.stderr()).not.toContain("--insecure-no-auth");
    } finally {
      served.child.kill("SIGTERM");
    }
    expect(await exited(served.child)).toBe(0);
  });

  test("an unreachable server is reported and the others are served", async () => {
    const broken = join(dir, "broken.json");
    writeFileSync(
      broken,
      JSON.stringify({
        mcpServers: {
          ghost: { command: join(dir, "no-such-program") },
          files: {
            command: process.execPath,
            args: [serverBin("@modelcontextprotocol/server-filesystem"), dir],
          },
        },
        sandbox: { mode: "process" },
      }),
    );
    const served = await startCli(["serve", "--http", ":0", "--config", broken]);
    try {
      expect(served.stderr()).toContain("server ghost is not reachable");
      expect(served.stderr()).toContain("1/2 servers");
      const client = new Client({ name: "cli-test", version: "1.0.0" });
      await client.connect(new StreamableHTTPClientTransport(new URL(served.firstLine)));
      try {
        const r = await client.callTool({
          name: "execute_code",
          arguments: { code: "return (await files.list_allowed_directories({})).content ?? 'ok'" },
        });
        expect((r as TextResult).isError).toBeFalsy();
      } finally {
        await client.close();
      }
    } finally {
      served.child.kill("SIGINT");
    }
    expect(await exited(served.child)).toBe(0);
  });

  test("beyond loopback without a token it refuses to start (exit 2), before any server starts", async () => {
    for (const listen of ["0.0.0.0:0", "[::]:0"]) {
      const r = await cli(["serve", "--http", listen, "--config", config], { timeoutMs: 30_000 });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain("Refusing to serve on");
      expect(r.stderr).toContain("--auth-token-env VAR");
      expect(r.stderr).toContain("--insecure-no-auth");
      expect(r.stdout).toBe("");
    }
    // Every interface also needs the names clients use, token or not.
    const named = await cli([
      "serve",
      "--http",
      "0.0.0.0:0",
      "--insecure-no-auth",
      "--config",
      config,
    ]);
    expect(named.code, named.stderr).toBe(2);
    expect(named.stderr).toContain("--allowed-hosts");
    // Token flags belong to --http, and name the variable when it is unset.
    const stdio = await cli(["serve", "--auth-token-env", "MCPO_TOKEN", "--config", config]);
    expect(stdio.code).toBe(2);
    expect(stdio.stderr).toContain("--auth-token-env applies to --http only");
    const unset = await cli(
      ["serve", "--http", ":0", "--auth-token-env", "MCPO_TEST_TOKEN", "--config", config],
      { env: { MCPO_TEST_TOKEN: undefined } },
    );
    expect(unset.code).toBe(2);
    expect(unset.stderr).toContain("the variable MCPO_TEST_TOKEN is not set");
    const short = await cli(
      ["serve", "--http", ":0", "--auth-token-env", "MCPO_TEST_TOKEN", "--config", config],
      { env: { MCPO_TEST_TOKEN: "hunter2" } },
    );
    expect(short.code).toBe(2);
    expect(short.stderr).toContain("at least 16 characters");
    expect(short.stderr).not.toContain("hunter2");
  });

  test("--insecure-no-auth with --allowed-hosts serves beyond loopback, and warns", async () => {
    const served = await startCli([
      "serve",
      "--http",
      "0.0.0.0:0",
      "--insecure-no-auth",
      "--allowed-hosts",
      "localhost,127.0.0.1",
      "--config",
      config,
    ]);
    try {
      expect(served.firstLine).toMatch(/^http:\/\/0\.0\.0\.0:\d+\/mcp$/);
      for (let i = 0; i < 100 && !served.stderr().includes("no authentication:"); i++)
        await new Promise((r) => setTimeout(r, 50));
      expect(served.stderr()).toContain(
        "0.0.0.0 is not a loopback address and the endpoint has no authentication",
      );
      const url = served.firstLine.replace("0.0.0.0", "127.0.0.1");
      const client = new Client({ name: "cli-test", version: "1.0.0" });
      await client.connect(new StreamableHTTPClientTransport(new URL(url)));
      await client.close();
    } finally {
      served.child.kill("SIGTERM");
    }
    expect(await exited(served.child)).toBe(0);
  });

  test("--auth-token-env: the token is required, and a rebound Host or foreign Origin is refused", async () => {
    const token = "s3cr3t-token-for-the-cli-test-0001";
    const served = await startCli(
      ["serve", "--http", "127.0.0.1:0", "--auth-token-env", "MCPO_TEST_TOKEN", "--config", config],
      { env: { MCPO_TEST_TOKEN: token } },
    );
    try {
      expect(served.stderr()).toContain("bearer token required");
      expect(served.stderr()).not.toContain(token);
      const url = new URL(served.firstLine);
      const status = (headers: Record<string, string>) =>
        new Promise<number>((resolve, reject) => {
          const req = httpRequest(url, {
            method: "POST",
            headers: {
              "content-type": "application/json",
              accept: "application/json, text/event-stream",
              ...headers,
            },
          });
          req.on("response", (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on("error", reject);
          req.end(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }));
        });
      expect(await status({})).toBe(401);
      expect(await status({ authorization: "Bearer wrong-token-wrong-token" })).toBe(401);
      expect(await status({ authorization: `Bearer ${token}`, host: "rebound.example" })).toBe(403);
      expect(
        await status({ authorization: `Bearer ${token}`, origin: "https://evil.example" }),
      ).toBe(403);
      const client = new Client({ name: "cli-test", version: "1.0.0" });
      await client.connect(
        new StreamableHTTPClientTransport(url, {
          requestInit: { headers: { authorization: `Bearer ${token}` } },
        }),
      );
      try {
        await exercise(client);
      } finally {
        await client.close();
      }
    } finally {
      served.child.kill("SIGTERM");
    }
    expect(await exited(served.child)).toBe(0);
  });

  test("a port in use is exit 4 with a message saying so", async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    try {
      const port = (busy.address() as { port: number }).port;
      const r = await cli(["serve", "--http", `127.0.0.1:${port}`, "--config", config]);
      expect(r.code, r.stderr).toBe(4);
      expect(r.stderr).toContain(`Cannot listen on 127.0.0.1:${port}: it is in use (EADDRINUSE)`);
    } finally {
      busy.close();
    }
  });
});
