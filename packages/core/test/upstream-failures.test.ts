import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import {
  createMcpUpstream,
  ErrorCodes,
  MCPOptimizer,
  type McpUpstream,
  type UpstreamEvent,
} from "../src/index.js";

const FAKE = join(import.meta.dirname, "fixtures", "fake-server.mjs");
const dir = mkdtempSync(join(tmpdir(), "mcpo-upstream-failures-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fake(env: Record<string, string> = {}, extra: Record<string, unknown> = {}) {
  return { command: process.execPath, args: [FAKE], env, ...extra };
}

describe("an oversized result", () => {
  test("fails its call with UPSTREAM_RESULT_TOO_LARGE, size and limit, and the connection stays up", async () => {
    const events: UpstreamEvent[] = [];
    const upstream = createMcpUpstream({
      name: "fake",
      server: fake(),
      maxResultBytes: 1024 * 1024,
      onEvent: (e) => events.push(e),
    });
    try {
      await upstream.connect();
      const pid = upstream.pid;
      const error = await upstream.callTool("big", { bytes: 3 * 1024 * 1024 }).catch((e) => e);
      expect(error).toMatchObject({
        code: ErrorCodes.UPSTREAM_RESULT_TOO_LARGE,
        details: { server: "fake", limit: 1024 * 1024 },
      });
      expect(error.details.bytes).toBeGreaterThan(3 * 1024 * 1024);
      expect(error.message).toMatch(
        /fake\.big returned 3\.0 MiB .* over the 1\.0 MiB \(1048576 bytes\) limit/,
      );
      // Same process, same connection: the next calls are answered at once.
      const ok = await upstream.callTool("echo", { text: "still here" });
      expect(JSON.stringify(ok.content)).toContain("still here");
      const fits = await upstream.callTool("big", { bytes: 512 * 1024 });
      expect(JSON.stringify(fits.content).length).toBeGreaterThan(512 * 1024);
      expect(upstream.pid).toBe(pid);
      expect(upstream.info()).toMatchObject({ connected: true, reconnects: 0 });
      expect(events).toContainEqual(
        expect.objectContaining({ type: "message_rejected", reason: "too_large" }),
      );
    } finally {
      await upstream.close();
    }
  }, 60_000);

  test("over the default 10 MiB, through the engine: a typed error, and the server keeps serving", async () => {
    const optimizer = new MCPOptimizer({ mcpServers: { fake: fake() } });
    try {
      await expect(
        optimizer.run("return (await fake.big({ bytes: 11 * 1024 * 1024 })).length"),
      ).rejects.toMatchObject({
        code: ErrorCodes.UPSTREAM_RESULT_TOO_LARGE,
        message: expect.stringContaining("over the 10.0 MiB (10485760 bytes) limit"),
      });
      const again = await optimizer.run("return await fake.echo({ text: 'after' })");
      expect(again.value).toBe("after");
    } finally {
      await optimizer.close();
    }
  }, 60_000);
});

describe("an upstream that fails its first start", () => {
  test("is retried with backoff: calls fail with UPSTREAM_UNAVAILABLE and the start error, then succeed", async () => {
    const counter = join(dir, "starts");
    const events: UpstreamEvent[] = [];
    const optimizer = new MCPOptimizer({
      mcpServers: { fake: fake({ FAKE_FAIL_STARTS: "2", FAKE_COUNTER: counter }) },
      onUpstreamEvent: (e) => events.push(e),
    });
    try {
      const first = await optimizer
        .run("return await fake.echo({ text: 'hello' })")
        .catch((e) => e);
      expect(first).toMatchObject({ code: ErrorCodes.UPSTREAM_UNAVAILABLE });
      expect(first.message).toContain('"fake"');
      expect(first.message).toContain("cannot open the database");
      expect(first.code).not.toBe(ErrorCodes.TOOL_NOT_FOUND);
      // A session that may not see the server learns nothing of it, not even its start error.
      const hidden = await optimizer
        .run("return await fake.echo({ text: 'hello' })", { allow: { servers: ["other"] } })
        .catch((e) => e);
      expect(hidden.code).not.toBe(ErrorCodes.UPSTREAM_UNAVAILABLE);
      expect(hidden.message).not.toContain("cannot open the database");

      // The third start succeeds (backoff 250 ms, then 500 ms); no call has to restart it.
      let value: unknown;
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        try {
          value = (await optimizer.run("return await fake.echo({ text: 'hello' })")).value;
          break;
        } catch (error) {
          expect(error).toMatchObject({ code: ErrorCodes.UPSTREAM_UNAVAILABLE });
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      expect(value).toBe("hello");
      expect(events.filter((e) => e.type === "start_failed").length).toBeGreaterThanOrEqual(2);
      const caps = await optimizer.capabilities();
      expect(caps.upstreams[0]).toMatchObject({ name: "fake", connected: true });
      expect(caps.tools).toBeGreaterThan(0);
    } finally {
      await optimizer.close();
    }
  }, 60_000);
});

describe("a server's own timeout", () => {
  test("bounds its calls even when the execution has longer", async () => {
    const optimizer = new MCPOptimizer({
      sandboxConfig: { maxExecutionTime: 20_000 },
      mcpServers: { fake: fake({}, { timeout: 700 }) },
    });
    try {
      await optimizer.run("return 1");
      const error = await optimizer.run("return await fake.hang({ ms: 15000 })").catch((e) => e);
      expect(error).toMatchObject({
        code: ErrorCodes.UPSTREAM_TIMEOUT,
        message: expect.stringContaining("700 ms"),
      });
    } finally {
      await optimizer.close();
    }
  }, 60_000);
});

describe("the execution's deadline during a call", () => {
  test("is the execution's timeout, not an upstream timeout of what was left", async () => {
    const optimizer = new MCPOptimizer({
      sandboxConfig: { maxExecutionTime: 1500 },
      mcpServers: { fake: fake() },
    });
    try {
      await optimizer.run("return 1");
      const error = await optimizer.run("return await fake.hang({ ms: 15000 })").catch((e) => e);
      expect(error).toMatchObject({ code: ErrorCodes.SANDBOX_TIMEOUT });
      expect((await optimizer.run("return await fake.echo({ text: 'on' })")).value).toBe("on");
    } finally {
      await optimizer.close();
    }
  }, 60_000);
});

describe("a slow upstream", () => {
  test("does not hold up executions that do not call it; a call to it waits for its start", async () => {
    const optimizer = new MCPOptimizer({
      mcpServers: {
        slow: fake({ FAKE_START_DELAY_MS: "15000" }),
        quick: fake(),
      },
    });
    try {
      const result = await optimizer.run("return 1 + 1");
      expect(result.value).toBe(2);
      const slow = optimizer.listUpstreams().find((u) => u.name === "slow") as McpUpstream;
      expect(slow.info().connected).toBe(false);
      const waited = await optimizer.run("return await slow.echo({ text: 'worth the wait' })");
      expect(waited.value).toBe("worth the wait");
      expect(slow.info().connected).toBe(true);
      expect((await optimizer.search("echo")).some((h) => h.call.startsWith("slow."))).toBe(true);
    } finally {
      await optimizer.close();
    }
  }, 90_000);
});
