import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { hasErrorCode, MCPOptimizer } from "@mcp-optimizer/core";
import { metrics } from "@opentelemetry/api";
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import { NodeSDK } from "@opentelemetry/sdk-node";
import { afterEach, describe, expect, test } from "vitest";
import {
  createOptimizerSdkConfig,
  otlpProtocol,
  readOtelEnvironment,
  startTelemetry,
} from "../src/index.js";

/** A collector on loopback that keeps every request. */
async function collector(): Promise<{
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
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    server,
  };
}

const saved = { ...process.env };
function setEnv(vars: Record<string, string>): void {
  for (const [k, v] of Object.entries(vars)) process.env[k] = v;
}
afterEach(() => {
  for (const k of Object.keys(process.env)) if (k.startsWith("OTEL_")) delete process.env[k];
  Object.assign(process.env, saved);
});

describe("the standard OTEL_* variables, standalone (startTelemetry)", () => {
  test("service name, resource attributes, endpoint and protocol come from the environment", async () => {
    const c = await collector();
    setEnv({
      OTEL_SERVICE_NAME: "env-service",
      OTEL_RESOURCE_ATTRIBUTES: "deployment.environment.name=ci,team=platform",
      OTEL_EXPORTER_OTLP_ENDPOINT: c.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_EXPORTER_OTLP_HEADERS: "x-tenant=acme",
    });
    // No otlp option and no serviceName: the environment decides.
    const handle = await startTelemetry({ prometheus: false });
    const optimizer = new MCPOptimizer({
      sandboxConfig: { mode: "process", enableTelemetry: true },
    });
    try {
      expect(handle.otlpSource).toBe(`OTEL_EXPORTER_OTLP_ENDPOINT=${c.url}`);
      await optimizer.run("return 1");
      await handle.forceFlush();
      const traces = c.requests.filter((r) => r.path === "/v1/traces");
      const points = c.requests.filter((r) => r.path === "/v1/metrics");
      expect(traces.length).toBeGreaterThan(0);
      expect(points.length).toBeGreaterThan(0);
      for (const r of [...traces, ...points]) {
        expect(r.headers["content-type"]).toBe("application/json");
        expect(r.headers["x-tenant"]).toBe("acme");
        const resource =
          JSON.parse(r.body).resourceSpans?.[0]?.resource ??
          JSON.parse(r.body).resourceMetrics?.[0]?.resource;
        const attrs = Object.fromEntries(
          (resource.attributes as { key: string; value: { stringValue?: string } }[]).map((a) => [
            a.key,
            a.value.stringValue,
          ]),
        );
        expect(attrs).toMatchObject({
          "service.name": "env-service",
          "deployment.environment.name": "ci",
          team: "platform",
        });
      }
    } finally {
      await optimizer.close();
      await handle.shutdown();
      c.server.close();
    }
  }, 60_000);

  test("explicit options win over the environment; a per-signal protocol is honoured", async () => {
    const c = await collector();
    setEnv({
      OTEL_SERVICE_NAME: "env-service",
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9/unused",
      OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: "http/json",
    });
    const handle = await startTelemetry({
      prometheus: false,
      serviceName: "option-service",
      otlp: { endpoint: c.url },
    });
    const optimizer = new MCPOptimizer({
      sandboxConfig: { mode: "process", enableTelemetry: true },
    });
    try {
      await optimizer.run("return 1");
      await handle.forceFlush();
      const types = (p: string) =>
        new Set(c.requests.filter((r) => r.path === p).map((r) => r.headers["content-type"]));
      expect(types("/v1/metrics")).toEqual(new Set(["application/json"]));
      expect(types("/v1/traces")).toEqual(new Set(["application/x-protobuf"]));
      expect(c.requests.every((r) => r.body.includes("option-service"))).toBe(true);
    } finally {
      await optimizer.close();
      await handle.shutdown();
      c.server.close();
    }
  }, 60_000);

  test("OTEL_SDK_DISABLED=true installs nothing; grpc and unknown protocols are refused by name", async () => {
    setEnv({ OTEL_SDK_DISABLED: "true", OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318" });
    const before = metrics.getMeterProvider();
    const handle = await startTelemetry({ prometheus: { port: 0 } });
    expect(handle.enabled).toBe(false);
    expect(handle.disabledReason).toBe("OTEL_SDK_DISABLED=true");
    expect(handle.prometheusUrl).toBeUndefined();
    expect(metrics.getMeterProvider()).toBe(before);
    delete process.env.OTEL_SDK_DISABLED;

    setEnv({ OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" });
    let error: unknown;
    try {
      await startTelemetry({ prometheus: false });
    } catch (e) {
      error = e;
    }
    expect(hasErrorCode(error, "INVALID_CONFIG")).toBe(true);
    expect((error as Error).message).toContain('OTEL_EXPORTER_OTLP_PROTOCOL is "grpc"');
    expect((error as Error).message).toContain("NodeSDK");
    expect(metrics.getMeterProvider()).toBe(before); // nothing left registered
    expect(() => otlpProtocol("TRACES", "thrift")).toThrow(/otlp.protocol is "thrift"/);
    expect(readOtelEnvironment({ OTEL_SDK_DISABLED: "TRUE" }).sdkDisabled).toBe(true);
  });
});

describe("the standard OTEL_* variables, with the application's NodeSDK", () => {
  test("NodeSDK reads them; the optimizer's metrics carry the environment's resource", async () => {
    setEnv({ OTEL_SERVICE_NAME: "env-host", OTEL_RESOURCE_ATTRIBUTES: "team=search" });
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 600_000 });
    const additions = createOptimizerSdkConfig();
    const sdk = new NodeSDK({
      metricReaders: [reader],
      views: additions.views,
      instrumentations: [],
    });
    sdk.start();
    const optimizer = new MCPOptimizer({ sandboxConfig: { mode: "process" } });
    try {
      await optimizer.run("return 1");
      await reader.forceFlush();
      const batch = exporter.getMetrics().at(-1)!;
      expect(batch.resource.attributes["service.name"]).toBe("env-host");
      expect(batch.resource.attributes.team).toBe("search");
      const names = batch.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.descriptor.name));
      expect(names).toContain("mcp_optimizer.executions");
    } finally {
      await optimizer.close();
      await sdk.shutdown();
    }
  }, 60_000);

  test("OTEL_SDK_DISABLED=true: NodeSDK installs nothing, the additions are empty, the optimizer runs", async () => {
    setEnv({ OTEL_SDK_DISABLED: "true" });
    const before = metrics.getMeterProvider();
    const additions = createOptimizerSdkConfig({ prometheus: { port: 0 } });
    expect(additions).toMatchObject({ enabled: false, views: [], metricReaders: [] });
    expect(additions.prometheus).toBeUndefined();
    const sdk = new NodeSDK({ views: additions.views, instrumentations: [] });
    sdk.start();
    const optimizer = new MCPOptimizer({ sandboxConfig: { mode: "process" } });
    try {
      expect(metrics.getMeterProvider()).toBe(before);
      expect((await optimizer.run("return 2")).value).toBe(2);
    } finally {
      await optimizer.close();
      await sdk.shutdown();
    }
  }, 60_000);
});
