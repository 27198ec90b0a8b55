import { hasErrorCode, MCPOptimizer } from "@mcp-optimizer/core";
import { metrics } from "@opentelemetry/api";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  createOptimizerMeterViews,
  createPrometheusEndpoint,
  startTelemetry,
} from "../src/index.js";
import { everythingServer, parsePrometheus, total } from "./helpers.js";

describe("a host that runs its own OpenTelemetry SDK", () => {
  // The host's own MeterProvider, with this package's endpoint and views added to it.
  const prometheus = createPrometheusEndpoint({ host: "127.0.0.1", port: 0 });
  const meterProvider = new MeterProvider({
    readers: [prometheus.reader],
    views: createOptimizerMeterViews(),
  });
  let optimizer: MCPOptimizer;

  beforeAll(async () => {
    expect(metrics.setGlobalMeterProvider(meterProvider)).toBe(true);
    await prometheus.listen();
    optimizer = new MCPOptimizer({
      sandboxConfig: { mode: "process" },
      mcpServers: { everything: everythingServer() },
    });
    await optimizer.start();
  }, 60_000);

  afterAll(async () => {
    await optimizer?.close();
    await prometheus.close();
    await meterProvider.shutdown();
    metrics.disable();
  });

  test("startTelemetry refuses to install a second SDK", async () => {
    let caught: unknown;
    try {
      await startTelemetry({ prometheus: false });
    } catch (error) {
      caught = error;
    }
    expect(hasErrorCode(caught, "INVALID_CONFIG")).toBe(true);
    expect(metrics.getMeterProvider()).toBe(meterProvider);
  });

  test("core records into the host's SDK with nothing started; the endpoint serves it", async () => {
    await optimizer.run("return await everything.get_sum({ a: 1, b: 1 })");
    await optimizer.run("return 1");
    const samples = parsePrometheus(await (await fetch(prometheus.url!)).text());
    expect(total(samples, "mcp_optimizer_executions_total", { mcp_optimizer_outcome: "ok" })).toBe(
      2,
    );
    expect(total(samples, "mcp_optimizer_tool_calls_total", { gen_ai_tool_name: "get-sum" })).toBe(
      1,
    );
    const les = samples
      .filter((s) => s.name === "mcp_optimizer_execution_duration_seconds_bucket")
      .map((s) => s.labels.le);
    expect(les).toContain("0.001");
    expect(les).toContain("60");
  });
});
