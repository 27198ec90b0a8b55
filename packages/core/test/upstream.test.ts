import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  createMcpUpstream,
  ErrorCodes,
  MCPOptimizer,
  type McpUpstream,
  type UpstreamEvent,
} from "../src/index.js";
import { everythingServer, startEverythingHttp } from "./helpers/servers.js";

describe("McpUpstream over stdio (server-everything)", () => {
  let upstream: McpUpstream;
  const events: UpstreamEvent[] = [];

  beforeAll(async () => {
    upstream = createMcpUpstream({
      name: "everything",
      server: { ...everythingServer(), args: everythingServer().args },
      reconnectInitialDelayMs: 50,
      onEvent: (e) => events.push(e),
    });
    await upstream.connect();
  }, 30_000);
  afterAll(() => upstream?.close());

  test("lists tools, resources and prompts and keeps the server's capabilities", async () => {
    const tools = await upstream.listTools();
    expect(tools.map((t) => t.name)).toContain("echo");
    expect(tools.find((t) => t.name === "echo")!.inputSchema).toMatchObject({ type: "object" });
    expect((await upstream.listResources()).length).toBeGreaterThan(0);
    expect((await upstream.listPrompts()).length).toBeGreaterThan(0);
    const info = upstream.info();
    expect(info).toMatchObject({
      connected: true,
      transport: "stdio",
      serverInfo: { name: expect.any(String) },
    });
    expect(info.capabilities).toHaveProperty("tools");
    expect(info.protocolVersion).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  test("a per-call timeout ends a slow call with UPSTREAM_TIMEOUT", async () => {
    await expect(
      upstream.callTool(
        "trigger-long-running-operation",
        { duration: 5, steps: 5 },
        { timeoutMs: 300 },
      ),
    ).rejects.toMatchObject({ code: ErrorCodes.UPSTREAM_TIMEOUT });
    const ok = await upstream.callTool("echo", { message: "after timeout" });
    expect(JSON.stringify(ok.content)).toContain("after timeout");
  });

  test("a crashed server: the call in flight fails, later calls succeed once it is back", async () => {
    const pid = upstream.pid!;
    expect(pid).toBeGreaterThan(0);
    const inFlight = upstream.callTool("trigger-long-running-operation", {
      duration: 10,
      steps: 2,
    });
    await new Promise((r) => setTimeout(r, 200));
    process.kill(pid, "SIGKILL");
    await expect(inFlight).rejects.toMatchObject({ code: ErrorCodes.UPSTREAM_UNAVAILABLE });
    const later = await upstream.callTool("echo", { message: "back again" });
    expect(JSON.stringify(later.content)).toContain("back again");
    expect(upstream.pid).not.toBe(pid);
    expect(upstream.info().reconnects).toBe(1);
    expect(events.map((e) => e.type)).toEqual(
      expect.arrayContaining(["disconnected", "connected"]),
    );
  }, 30_000);

  test("a server that cannot start reports UPSTREAM_UNAVAILABLE with its stderr", async () => {
    const broken = createMcpUpstream({
      name: "broken",
      server: {
        command: process.execPath,
        args: ["-e", "console.error('no config here'); process.exit(3)"],
      },
      connectTimeoutMs: 5000,
    });
    await expect(broken.connect()).rejects.toMatchObject({
      code: ErrorCodes.UPSTREAM_UNAVAILABLE,
      message: expect.stringContaining("broken"),
    });
    await broken.close();
  });
});

describe("McpUpstream over Streamable HTTP (server-everything)", () => {
  let http: Awaited<ReturnType<typeof startEverythingHttp>>;
  beforeAll(async () => {
    http = await startEverythingHttp();
  }, 30_000);
  afterAll(() => http?.close());

  test("the optimizer runs code against an HTTP upstream", async () => {
    const optimizer = new MCPOptimizer({ mcpServers: { remote: { url: http.url } } });
    try {
      const result = await optimizer.run(`
        const r = await remote.get_sum({ a: 40, b: 2 });
        const e = await remote.echo({ message: "over http" });
        return { r, e };
      `);
      expect(JSON.stringify(result.value)).toContain("42");
      expect(JSON.stringify(result.value)).toContain("over http");
      const caps = await optimizer.capabilities();
      expect(caps.upstreams[0]).toMatchObject({
        name: "remote",
        transport: "http",
        connected: true,
      });
    } finally {
      await optimizer.close();
    }
  }, 30_000);
});

describe("an upstream killed mid-session", () => {
  test("is reconnected and the session goes on", async () => {
    const optimizer = new MCPOptimizer({ mcpServers: { everything: everythingServer() } });
    try {
      const first = await optimizer.run("return await everything.echo({ message: 'one' })", {
        sessionId: "crash",
      });
      expect(JSON.stringify(first.value)).toContain("one");
      const upstream = optimizer.listUpstreams()[0] as McpUpstream;
      process.kill(upstream.pid!, "SIGKILL");
      await new Promise((r) => setTimeout(r, 100));
      // echo is read-only: the call waits for the reconnect (and is retried if it raced it).
      const second = await optimizer.run("return await everything.echo({ message: 'two' })", {
        sessionId: "crash",
      });
      expect(JSON.stringify(second.value)).toContain("two");
    } finally {
      await optimizer.close();
    }
  }, 30_000);
});
