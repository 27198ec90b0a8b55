import {
  hasErrorCode,
  MCPOptimizer,
  type McpUpstream,
  type RunResult,
  type TokenFigures,
  type UpstreamEvent,
} from "@mcp-optimizer/core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startTelemetry, type TelemetryHandle } from "../src/index.js";
import {
  everythingServer,
  freePort,
  parsePrometheus,
  type Sample,
  series,
  total,
  waitFor,
} from "./helpers.js";

const SECRET = "sk-prom-5e4d3c2b1a09";
const PRICE = 2.5; // USD per million tokens of the test model

describe("Prometheus endpoint with executions through MCPOptimizer", () => {
  let handle: TelemetryHandle;
  let optimizer: MCPOptimizer;
  const events: UpstreamEvent[] = [];
  const tokens: TokenFigures[] = [];
  let okRuns = 0;
  let text = "";
  let samples: Sample[] = [];

  beforeAll(async () => {
    const port = await freePort();
    handle = await startTelemetry({
      serviceName: "telemetry-otel-test",
      serviceVersion: "9.9.9",
      prometheus: { host: "127.0.0.1", port, path: "/prom" },
      traces: false,
      logs: false,
    });
    // After startTelemetry: core asks for its meter when constructed.
    optimizer = new MCPOptimizer({
      sandboxConfig: { mode: "process", maxExecutionTime: 10_000, enableMetrics: true },
      mcpServers: {
        everything: { ...everythingServer(), env: { API_TOKEN: "${MCPO_PROM_TOKEN}" } },
      },
      env: { MCPO_PROM_TOKEN: SECRET },
      pricing: { model: "test-model", prices: { "test-model": PRICE } },
      onUpstreamEvent: (e) => events.push(e),
      // The sessions gauge is read after all the runs: keep their runners until then (the
      // engine releases an idle session's runner after 10 s by default).
      sandboxIdleMs: 600_000,
    });
    await optimizer.start();

    const record = (r: RunResult) => {
      tokens.push(r.tokens);
      okRuns++;
    };
    const twoCalls = `
      const sum = await everything.get_sum({ a: 2, b: 3 });
      const echoed = await everything.echo({ message: "sum " + JSON.stringify(sum) });
      return { sum, echoed };`;
    for (let i = 0; i < 3; i++) record(await optimizer.run(twoCalls, { sessionId: "prom-a" }));
    // A rejected call, caught in the program: the execution succeeds, the call does not.
    record(
      await optimizer.run(
        "try { await everything.echo({ message: 42 }); } catch (e) { return e.code; }",
        { sessionId: "prom-b" },
      ),
    );
    try {
      await optimizer.run("throw new Error('boom')", { sessionId: "prom-b" });
    } catch (error) {
      expect(hasErrorCode(error, "CODE_RUNTIME_ERROR")).toBe(true);
      tokens.push((error as { details: { tokens: TokenFigures } }).details.tokens);
    }
    // Kill the upstream server: the optimizer reconnects and counts it.
    const upstream = optimizer.listUpstreams()[0] as McpUpstream;
    process.kill(upstream.pid!, "SIGKILL");
    await waitFor(
      () => events.some((e) => e.type === "connected" && e.reconnect),
      20_000,
      "the upstream to reconnect",
    );

    const response = await fetch(handle.prometheusUrl!);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/plain");
    text = await response.text();
    samples = parsePrometheus(text);
  }, 120_000);

  afterAll(async () => {
    await optimizer?.close();
    await handle?.shutdown();
  });

  test("serves on the configured host, port and path; other paths are 404", async () => {
    expect(handle.prometheusUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/prom$/);
    const other = await fetch(handle.prometheusUrl!.replace(/\/prom$/, "/metrics"));
    expect(other.status).toBe(404);
  });

  test("executions by mode and outcome, with the error type of failures", () => {
    const name = "mcp_optimizer_executions_total";
    expect(text).toContain(`# TYPE ${name} counter`);
    expect(
      total(samples, name, { mcp_optimizer_sandbox_mode: "process", mcp_optimizer_outcome: "ok" }),
    ).toBe(okRuns);
    expect(
      total(samples, name, {
        mcp_optimizer_outcome: "error",
        error_type: "CODE_RUNTIME_ERROR",
        mcp_optimizer_execution_kind: "run",
      }),
    ).toBe(1);
  });

  test("execution duration is a seconds histogram with the documented buckets", () => {
    const name = "mcp_optimizer_execution_duration_seconds";
    expect(text).toContain(`# TYPE ${name} histogram`);
    expect(total(samples, `${name}_count`)).toBe(okRuns + 1);
    const sum = total(samples, `${name}_sum`);
    expect(sum).toBeGreaterThan(0);
    expect(sum).toBeLessThan(60); // seconds, not milliseconds
    const les = series(samples, `${name}_bucket`)
      .filter((s) => s.labels.mcp_optimizer_outcome === "ok")
      .map((s) => s.labels.le);
    expect(les).toEqual([
      "0.001",
      "0.0025",
      "0.005",
      "0.01",
      "0.025",
      "0.05",
      "0.1",
      "0.25",
      "0.5",
      "1",
      "2.5",
      "5",
      "10",
      "30",
      "60",
      "+Inf",
    ]);
  });

  test("tool calls by server, tool and outcome, and their duration", () => {
    const name = "mcp_optimizer_tool_calls_total";
    const labels = { mcp_optimizer_server: "everything", mcp_optimizer_outcome: "ok" };
    expect(total(samples, name, { ...labels, gen_ai_tool_name: "get-sum" })).toBe(3);
    expect(total(samples, name, { ...labels, gen_ai_tool_name: "echo" })).toBe(3);
    expect(
      total(samples, name, {
        gen_ai_tool_name: "echo",
        mcp_optimizer_outcome: "error",
        error_type: "TOOL_INVALID_ARGUMENTS",
      }),
    ).toBe(1);
    const duration = "mcp_client_operation_duration_seconds";
    expect(text).toContain(`# TYPE ${duration} histogram`);
    const calls = { mcp_method_name: "tools/call", gen_ai_operation_name: "execute_tool" };
    // The rejected call never reached the server: no client operation for it.
    expect(total(samples, `${duration}_count`, { ...calls, gen_ai_tool_name: "echo" })).toBe(3);
    expect(total(samples, `${duration}_count`, { ...calls, gen_ai_tool_name: "get-sum" })).toBe(3);
  });

  test("tokens used, against plain MCP, saved, and the estimated cost from the overridden price", () => {
    const used = tokens.reduce((s, t) => s + t.used, 0);
    const plain = tokens.reduce((s, t) => s + t.plainMcp, 0);
    const saved = tokens.reduce((s, t) => s + Math.max(0, t.plainMcp - t.used), 0);
    expect(used).toBeGreaterThan(0);
    expect(total(samples, "mcp_optimizer_tokens_used_total")).toBe(used);
    expect(total(samples, "mcp_optimizer_tokens_plain_mcp_total")).toBe(plain);
    expect(total(samples, "mcp_optimizer_tokens_saved_total")).toBe(saved);
    const cost = "mcp_optimizer_cost_estimated_usd_total";
    const model = { gen_ai_request_model: "test-model" };
    expect(total(samples, cost, { ...model, mcp_optimizer_cost_path: "code_mode" })).toBeCloseTo(
      (used * PRICE) / 1e6,
      10,
    );
    expect(total(samples, cost, { ...model, mcp_optimizer_cost_path: "plain_mcp" })).toBeCloseTo(
      (plain * PRICE) / 1e6,
      10,
    );
  });

  test("sandbox sessions and the pool's runners by state", () => {
    expect(text).toContain("# TYPE mcp_optimizer_sandbox_sessions gauge");
    expect(total(samples, "mcp_optimizer_sandbox_sessions")).toBe(2);
    const runners = { mcp_optimizer_sandbox_mode: "process" };
    expect(
      total(samples, "mcp_optimizer_sandbox_runners", {
        ...runners,
        mcp_optimizer_sandbox_runner_state: "active",
      }),
    ).toBe(2);
    const idle = series(samples, "mcp_optimizer_sandbox_runners").filter(
      (s) => s.labels.mcp_optimizer_sandbox_runner_state === "idle",
    );
    expect(idle).toHaveLength(1);
    expect(idle[0]!.value).toBeGreaterThanOrEqual(0);
  });

  test("session store latency by operation", () => {
    const name = "mcp_optimizer_session_store_operation_duration_seconds_count";
    const store = { mcp_optimizer_session_store_kind: "memory" };
    const runs = okRuns + 1;
    // Each execution takes the session's lease, which reads the session in the same step.
    expect(
      total(samples, name, { ...store, mcp_optimizer_session_store_operation: "acquire_lease" }),
    ).toBe(runs);
    expect(
      total(samples, name, { ...store, mcp_optimizer_session_store_operation: "create" }),
    ).toBe(2);
    expect(
      total(samples, name, { ...store, mcp_optimizer_session_store_operation: "update" }),
    ).toBe(runs);
  });

  test("upstream reconnects", () => {
    expect(
      total(samples, "mcp_optimizer_upstream_reconnects_total", {
        mcp_optimizer_server: "everything",
      }),
    ).toBe(1);
  });

  test("resource attributes in target_info; no configured secret anywhere", () => {
    const target = series(samples, "target_info")[0]!;
    expect(target.labels.service_name).toBe("telemetry-otel-test");
    expect(target.labels.service_version).toBe("9.9.9");
    expect(text).not.toContain(SECRET);
  });

  test("a scrape after more work shows the counters grown by exactly that work", async () => {
    await optimizer.run("return await everything.get_sum({ a: 1, b: 1 })", { sessionId: "prom-a" });
    const again = parsePrometheus(await (await fetch(handle.prometheusUrl!)).text());
    const labels = { gen_ai_tool_name: "get-sum", mcp_optimizer_outcome: "ok" };
    expect(total(again, "mcp_optimizer_tool_calls_total", labels)).toBe(4);
    expect(total(again, "mcp_optimizer_executions_total", { mcp_optimizer_outcome: "ok" })).toBe(
      okRuns + 1,
    );
  });
});
