// An application that already runs the OpenTelemetry NodeSDK (its own exporters, its own
// resource, the standard OTEL_* variables) and adds MCP Optimizer to it. The optimizer's spans,
// metrics and audit log records flow through this SDK: no second provider, nothing started by
// the optimizer. Run from this package's folder after `pnpm build`:
//
//   OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 node examples/node-sdk.mjs
//
// (any OTLP/HTTP collector; OTEL_EXPORTER_OTLP_PROTOCOL, _HEADERS, OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES work as they do for every NodeSDK application).
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { MCPOptimizer } from "@mcp-optimizer/core";
import { createOptimizerSdkConfig, createOtelLogAuditSink } from "@mcp-optimizer/telemetry-otel";
import { OTLPLogExporter } from "@opentelemetry/exporter-logs-otlp-proto";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { BatchLogRecordProcessor } from "@opentelemetry/sdk-logs";
import { PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { NodeSDK } from "@opentelemetry/sdk-node";

// 1. The application's SDK, as it was before the optimizer came along, plus the optimizer's
//    views (seconds buckets for its histograms). The exporters read OTEL_EXPORTER_OTLP_*.
const optimizerTelemetry = createOptimizerSdkConfig();
const sdk = new NodeSDK({
  serviceName: process.env.OTEL_SERVICE_NAME ? undefined : "my-agent-app",
  traceExporter: new OTLPTraceExporter(),
  metricReaders: [
    new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter() }),
    ...optimizerTelemetry.metricReaders,
  ],
  logRecordProcessors: [new BatchLogRecordProcessor({ exporter: new OTLPLogExporter() })],
  views: optimizerTelemetry.views,
});
sdk.start();

// 2. The optimizer, after the SDK: it records through @opentelemetry/api, which is now the SDK.
//    enableTelemetry turns its spans on; audit records go out as OpenTelemetry log records.
const require = createRequire(import.meta.url);
const everything = join(
  dirname(require.resolve("@modelcontextprotocol/server-everything/package.json")),
  "dist",
  "index.js",
);
const optimizer = new MCPOptimizer({
  sandboxConfig: { mode: "process", enableTelemetry: true },
  mcpServers: { everything: { command: process.execPath, args: [everything, "stdio"] } },
  audit: createOtelLogAuditSink(),
});

try {
  const result = await optimizer.run("return await everything.get_sum({ a: 20, b: 22 })");
  console.log(`result: ${result.text} (execution ${result.executionId})`);
} finally {
  await optimizer.close();
  // The application's shutdown flushes the optimizer's telemetry with its own.
  await sdk.shutdown();
}
