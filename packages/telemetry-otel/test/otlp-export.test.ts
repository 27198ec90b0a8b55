import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { MCPOptimizer } from "@mcp-optimizer/core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createOtelLogAuditSink, startTelemetry, type TelemetryHandle } from "../src/index.js";
import { everythingServer } from "./helpers.js";

/** A minimal OTLP/HTTP collector: keeps every request it gets. */
function startCollector(): Promise<{
  url: string;
  requests: { path: string; headers: IncomingHttpHeaders; body: string }[];
  server: Server;
}> {
  const requests: { path: string; headers: IncomingHttpHeaders; body: string }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      requests.push({
        path: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      });
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        requests,
        server,
      }),
    ),
  );
}

describe("OTLP/HTTP export to a collector", () => {
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let handle: TelemetryHandle;
  let optimizer: MCPOptimizer;

  beforeAll(async () => {
    collector = await startCollector();
    handle = await startTelemetry({
      serviceName: "otlp-test",
      prometheus: false,
      otlp: {
        endpoint: `${collector.url}/`,
        headers: { "x-api-key": "collector-key" },
        metricIntervalMs: 600_000,
      },
    });
    optimizer = new MCPOptimizer({
      sandboxConfig: { mode: "process", enableTelemetry: true, maxExecutionTime: 10_000 },
      mcpServers: { everything: everythingServer() },
      audit: createOtelLogAuditSink(),
    });
    await optimizer.start();
  }, 60_000);

  afterAll(async () => {
    await optimizer?.close();
    await handle?.shutdown();
    await new Promise((r) => collector?.server.close(r));
  });

  test("traces, metrics and audit logs reach /v1/traces, /v1/metrics and /v1/logs with the headers and resource", async () => {
    const result = await optimizer.run("return await everything.get_sum({ a: 3, b: 4 })");
    await handle.forceFlush();
    const byPath = (p: string) => collector.requests.filter((r) => r.path === p);
    const traces = byPath("/v1/traces");
    const metrics = byPath("/v1/metrics");
    const logs = byPath("/v1/logs");
    expect(traces.length).toBeGreaterThan(0);
    expect(metrics.length).toBeGreaterThan(0);
    expect(logs.length).toBeGreaterThan(0);
    for (const r of [...traces, ...metrics, ...logs]) {
      expect(r.headers["x-api-key"]).toBe("collector-key");
      expect(r.body).toContain("otlp-test"); // service.name in the resource
      // The specification's default protocol, http/protobuf, when none is given.
      expect(r.headers["content-type"]).toBe("application/x-protobuf");
    }
    const spans = traces.map((r) => r.body).join("\n");
    expect(spans).toContain("execute_tool execute_code");
    expect(spans).toContain("tools/call get-sum");
    expect(spans).toContain(result.executionId);
    const points = metrics.map((r) => r.body).join("\n");
    expect(points).toContain("mcp_optimizer.executions");
    expect(points).toContain("mcp.client.operation.duration");
    expect(logs.map((r) => r.body).join("\n")).toContain("mcp_optimizer.audit.execution");
  });

  test("shutdown() alone flushes what is still buffered: the last execution's spans, metrics and audit logs", async () => {
    const seen = collector.requests.length;
    const result = await optimizer.run("return await everything.get_sum({ a: 5, b: 6 })");
    // No forceFlush: the batch processors and the metric reader still hold this execution.
    await handle.shutdown();
    const after = collector.requests.slice(seen);
    const body = (p: string) =>
      after
        .filter((r) => r.path === p)
        .map((r) => r.body)
        .join("\n");
    expect(body("/v1/traces")).toContain(result.executionId);
    expect(body("/v1/logs")).toContain(result.executionId);
    expect(body("/v1/metrics")).toContain("mcp_optimizer.executions");
    // shutdown() is idempotent: afterAll's second call is harmless.
    await handle.shutdown();
  });

  test("a bad endpoint is INVALID_CONFIG", async () => {
    await expect(
      startTelemetry({ prometheus: false, otlp: { endpoint: "collector:4318" } }),
    ).rejects.toMatchObject({
      code: "INVALID_CONFIG",
    });
  });
});
