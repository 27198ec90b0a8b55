import { createServer } from "node:http";
import { connect } from "node:net";
import { hasErrorCode, MCPOptimizer } from "@mcp-optimizer/core";
import { metrics, trace } from "@opentelemetry/api";
import { afterEach, describe, expect, test } from "vitest";
import { startTelemetry, type TelemetryHandle } from "../src/index.js";
import { everythingServer, freePort } from "./helpers.js";

const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });

// The API's global registry: present only while an SDK is registered.
const registered = () =>
  (globalThis as Record<symbol, Record<string, unknown> | undefined>)[
    Symbol.for("opentelemetry.js.api.1")
  ];

describe("startTelemetry lifecycle", () => {
  const handles: TelemetryHandle[] = [];
  afterEach(async () => {
    for (const h of handles.splice(0)) await h.shutdown();
  });

  test("disabled: no SDK, no endpoint, and the optimizer still runs on the API's no-op", async () => {
    const port = await freePort();
    const handle = await startTelemetry({
      enabled: false,
      prometheus: { host: "127.0.0.1", port },
    });
    expect(handle.enabled).toBe(false);
    expect(handle.prometheusUrl).toBeUndefined();
    expect(handle.meterProvider).toBeUndefined();
    expect(registered()?.metrics).toBeUndefined();
    expect(registered()?.trace).toBeUndefined();
    expect(await refused(port)).toBe(true);
    const optimizer = new MCPOptimizer({
      sandboxConfig: { mode: "process", enableTelemetry: false },
      mcpServers: { everything: everythingServer() },
    });
    try {
      const result = await optimizer.run("return await everything.get_sum({ a: 1, b: 1 })");
      expect(JSON.stringify(result.value)).toContain("2");
    } finally {
      await optimizer.close();
    }
    await handle.shutdown();
  }, 60_000);

  test("a second SDK is refused with INVALID_CONFIG; the first keeps serving; shutdown frees the port and globals", async () => {
    const port = await freePort();
    const first = await startTelemetry({ prometheus: { host: "127.0.0.1", port }, logs: false });
    handles.push(first);
    // The default path.
    expect(first.prometheusUrl).toBe(`http://127.0.0.1:${port}/metrics`);
    let caught: unknown;
    try {
      handles.push(
        await startTelemetry({ prometheus: { host: "127.0.0.1", port: await freePort() } }),
      );
    } catch (error) {
      caught = error;
    }
    expect(hasErrorCode(caught, "INVALID_CONFIG")).toBe(true);
    expect((caught as Error).message).toMatch(/already registered/);
    const response = await fetch(first.prometheusUrl!);
    expect(response.status).toBe(200);
    expect(metrics.getMeterProvider()).toBe(first.meterProvider);
    expect(registered()?.metrics).toBe(first.meterProvider);

    await first.shutdown();
    await first.shutdown(); // idempotent
    expect(await refused(port)).toBe(true);
    expect(registered()?.metrics).toBeUndefined();
    // A fresh start after shutdown works (same port, globals free again).
    const again = await startTelemetry({ prometheus: { host: "127.0.0.1", port } });
    handles.push(again);
    expect((await fetch(again.prometheusUrl!)).status).toBe(200);
    expect(trace.getTracerProvider()).toBeDefined();
  });

  test("an optimizer built before the SDK started still gets its metrics", async () => {
    const optimizer = new MCPOptimizer({ sandboxConfig: { mode: "process" } });
    try {
      await optimizer.run("return 1"); // recorded on the API's no-op: lost, as expected
      const handle = await startTelemetry({
        prometheus: { host: "127.0.0.1", port: await freePort() },
        logs: false,
      });
      handles.push(handle);
      await optimizer.run("return 2");
      await optimizer.run("return 3");
      const text = await (await fetch(handle.prometheusUrl!)).text();
      const line = text
        .split("\n")
        .find((l) => l.startsWith("mcp_optimizer_executions_total{") && l.includes('"ok"'));
      expect(line, text).toBeDefined();
      expect(Number(line!.split(" ").at(-1))).toBe(2);
    } finally {
      await optimizer.close();
    }
  }, 60_000);

  test("a port in use is INVALID_CONFIG naming the port, and nothing stays registered", async () => {
    const port = await freePort();
    const server = createServer().listen(port, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    try {
      await expect(
        startTelemetry({ prometheus: { host: "127.0.0.1", port } }),
      ).rejects.toMatchObject({
        code: "INVALID_CONFIG",
        message: expect.stringContaining(String(port)),
      });
      expect(registered()?.metrics).toBeUndefined();
      expect(registered()?.trace).toBeUndefined();
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  test("bad Prometheus options are INVALID_CONFIG", async () => {
    for (const prometheus of [{ path: "metrics" }, { port: 70_000 }, { port: 1.5 }]) {
      await expect(startTelemetry({ prometheus })).rejects.toMatchObject({
        code: "INVALID_CONFIG",
      });
    }
  });
});
