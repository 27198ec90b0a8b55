import {
  createOptimizerHttpServer,
  hasErrorCode,
  MCPOptimizer,
  type OptimizerHttpServer,
} from "@mcp-optimizer/core";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { metrics } from "@opentelemetry/api";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { InMemoryLogRecordExporter, SimpleLogRecordProcessor } from "@opentelemetry/sdk-logs";
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type ResourceMetrics,
} from "@opentelemetry/sdk-metrics";
import { NodeSDK } from "@opentelemetry/sdk-node";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace";
import {
  ATTR_ERROR_TYPE,
  ATTR_NETWORK_PROTOCOL_NAME,
  ATTR_NETWORK_TRANSPORT,
} from "@opentelemetry/semantic-conventions";
import {
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_TOOL_NAME,
  ATTR_MCP_METHOD_NAME,
  ATTR_MCP_PROTOCOL_VERSION,
  ATTR_RPC_RESPONSE_STATUS_CODE,
  METRIC_MCP_SERVER_OPERATION_DURATION,
  METRIC_MCP_SERVER_SESSION_DURATION,
} from "@opentelemetry/semantic-conventions/incubating";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createOptimizerSdkConfig, createOtelLogAuditSink, startTelemetry } from "../src/index.js";
import { everythingServer } from "./helpers.js";

/** Every data point of one metric, across the exported batches. */
function points(batches: ResourceMetrics[], name: string) {
  return batches.flatMap((batch) =>
    batch.scopeMetrics.flatMap((scope) =>
      scope.metrics
        .filter((m) => m.descriptor.name === name)
        .flatMap((m) => m.dataPoints.map((p) => ({ point: p, resource: batch.resource }))),
    ),
  );
}

describe("an application that starts its own NodeSDK and adds the optimizer", () => {
  const spans = new InMemorySpanExporter();
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({
    exporter: metricExporter,
    exportIntervalMillis: 600_000,
  });
  const logs = new InMemoryLogRecordExporter();
  const additions = createOptimizerSdkConfig();
  // The application's SDK: its resource, its exporters; the optimizer adds only its views.
  const sdk = new NodeSDK({
    resource: resourceFromAttributes({
      "service.name": "host-app",
      "deployment.environment.name": "test",
    }),
    autoDetectResources: false,
    spanProcessors: [new SimpleSpanProcessor({ exporter: spans })],
    metricReaders: [reader, ...additions.metricReaders],
    logRecordProcessors: [new SimpleLogRecordProcessor({ exporter: logs })],
    views: additions.views,
    instrumentations: [],
  });
  let optimizer: MCPOptimizer;
  let http: OptimizerHttpServer;

  beforeAll(async () => {
    sdk.start();
    optimizer = new MCPOptimizer({
      sandboxConfig: { mode: "process", enableTelemetry: true, maxExecutionTime: 20_000 },
      mcpServers: { everything: everythingServer() },
      audit: createOtelLogAuditSink(),
    });
    http = await createOptimizerHttpServer(optimizer);
  }, 60_000);

  afterAll(async () => {
    await http?.close();
    await optimizer?.close();
    await sdk.shutdown();
  });

  test("no second provider: the globals are the SDK's, and startTelemetry refuses to add one", async () => {
    const provider = metrics.getMeterProvider();
    expect(provider).toBeInstanceOf(MeterProvider);
    let refused: unknown;
    try {
      await startTelemetry({ prometheus: false });
    } catch (error) {
      refused = error;
    }
    expect(hasErrorCode(refused, "INVALID_CONFIG")).toBe(true);
    expect(metrics.getMeterProvider()).toBe(provider);
  });

  test("spans, metrics (optimizer's and MCP server conventions) and audit logs flow through it", async () => {
    // A real client: one session with a good call, a bad one (-32602) and a failing program.
    const client = new Client({ name: "sdk-test", version: "1.0.0" });
    const transport = new StreamableHTTPClientTransport(new URL(http.url));
    await client.connect(transport);
    const ok = await client.callTool({
      name: "execute_code",
      arguments: { code: "return await everything.get_sum({ a: 20, b: 22 })" },
    });
    expect((ok as { isError?: boolean }).isError).toBeFalsy();
    await client.callTool({ name: "execute_code", arguments: { code: 7 } }).catch(() => {});
    const failed = await client.callTool({
      name: "execute_code",
      arguments: { code: "throw new Error('no')" },
    });
    expect((failed as { isError?: boolean }).isError).toBe(true);
    await transport.terminateSession(); // DELETE ends the session: mcp.server.session.duration
    await client.close();
    await reader.forceFlush();
    // Simple processors export as spans and records end; the exporters keep them until shutdown.

    // Spans: the optimizer's, on the application's resource.
    const finished = spans.getFinishedSpans();
    const names = finished.map((s) => s.name);
    expect(names).toContain("execute_tool execute_code");
    expect(names).toContain("mcp_optimizer.sandbox.execute");
    expect(names.some((n) => n.startsWith("tools/call"))).toBe(true); // the upstream tool call
    for (const span of finished) expect(span.resource.attributes["service.name"]).toBe("host-app");

    const batches = metricExporter.getMetrics();
    // The optimizer's own metrics, in the views' seconds buckets.
    const executions = points(batches, "mcp_optimizer.executions");
    expect(executions.length).toBeGreaterThan(0);
    expect(executions[0]!.resource.attributes["service.name"]).toBe("host-app");
    const duration = points(batches, "mcp_optimizer.execution.duration")[0]!.point.value as {
      buckets: { boundaries: number[] };
    };
    expect(duration.buckets.boundaries).toContain(60);

    // The MCP server semantic conventions, beside them.
    const operations = points(batches, METRIC_MCP_SERVER_OPERATION_DURATION).map((p) => p.point);
    const calls = operations.filter((p) => p.attributes[ATTR_MCP_METHOD_NAME] === "tools/call");
    const okCall = calls.find((p) => p.attributes[ATTR_ERROR_TYPE] === undefined)!;
    expect(okCall.attributes).toMatchObject({
      [ATTR_GEN_AI_TOOL_NAME]: "execute_code",
      [ATTR_GEN_AI_OPERATION_NAME]: "execute_tool",
      [ATTR_NETWORK_TRANSPORT]: "tcp",
      [ATTR_NETWORK_PROTOCOL_NAME]: "http",
      [ATTR_MCP_PROTOCOL_VERSION]: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
    });
    expect(calls.find((p) => p.attributes[ATTR_ERROR_TYPE] === "tool_error")).toBeDefined();
    expect(
      calls.find((p) => p.attributes[ATTR_RPC_RESPONSE_STATUS_CODE] === "-32602")?.attributes[
        ATTR_ERROR_TYPE
      ],
    ).toBe("-32602");
    expect(operations.some((p) => p.attributes[ATTR_MCP_METHOD_NAME] === "initialize")).toBe(true);
    const sessions = points(batches, METRIC_MCP_SERVER_SESSION_DURATION).map((p) => p.point);
    expect(sessions.length).toBe(1);
    expect(sessions[0]!.attributes[ATTR_NETWORK_TRANSPORT]).toBe("tcp");

    // Audit records through the application's logger provider.
    expect(logs.getFinishedLogRecords().length).toBeGreaterThan(0);
  }, 60_000);
});
