import { readFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";
import { join } from "node:path";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { describe, expect, test } from "vitest";
import { BIN, cli, exited, freePort, startCli, tempDir, writeServersConfig } from "./helpers.js";

describe("telemetry and sandbox modes from the config", () => {
  test("a telemetry section starts Prometheus /metrics and the JSON-lines audit file", async () => {
    const dir = tempDir("mcpo-telemetry-");
    const port = await freePort();
    const audit = join(dir, "audit.jsonl");
    const config = writeServersConfig(dir, {
      telemetry: { prometheusPort: port, auditFile: audit, serviceName: "cli-test" },
    });
    const caps = await cli(["capabilities", "--json", "--config", config]);
    expect(caps.code, caps.stderr).toBe(0);
    const telemetry = JSON.parse(caps.stdout).telemetry;
    expect(telemetry.enabled).toBe(true);
    expect(telemetry.exporters).toContain(`prometheus http://127.0.0.1:${port}/metrics`);
    expect(telemetry.exporters).toContain(`audit ${audit}`);

    const run = await cli(["run", "-", "--config", config], {
      input: "const g = await memory.read_graph({}); return g.entities.length;",
    });
    expect(run.code, run.stderr).toBe(0);
    const records = readFileSync(audit, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string; outcome?: string });
    expect(records.some((r) => r.type === "execution" && r.outcome === "ok")).toBe(true);

    // serve exports the engine's metrics while it runs
    const served = await startCli(["serve", "--http", "127.0.0.1:0", "--config", config]);
    try {
      const client = new Client({ name: "cli-test", version: "1.0.0" });
      await client.connect(new StreamableHTTPClientTransport(new URL(served.firstLine)));
      await client.callTool({ name: "execute_code", arguments: { code: "return 1" } });
      await client.close();
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toMatch(/^mcp_optimizer_executions_total\{.*\} [1-9]/m);
      expect(metrics).toContain('service_name="cli-test"');
      // The MCP server semantic conventions, beside the optimizer's own metrics.
      expect(metrics).toMatch(
        /^mcp_server_operation_duration_seconds_count\{(?=.*mcp_method_name="tools\/call")(?=.*gen_ai_tool_name="execute_code")(?=.*network_transport="tcp").*\} 1$/m,
      );
    } finally {
      served.child.kill("SIGTERM");
    }
    expect(await exited(served.child)).toBe(0);

    // Over stdio the same metric says network.transport "pipe", and the session's duration
    // is recorded when the client goes away.
    const client = new Client({ name: "cli-test", version: "1.0.0" });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [BIN, "serve", "--config", config],
        stderr: "pipe",
      }),
    );
    try {
      await client.callTool({ name: "execute_code", arguments: { code: "return 2" } });
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toMatch(
        /^mcp_server_operation_duration_seconds_count\{(?=.*mcp_method_name="tools\/call")(?=.*network_transport="pipe").*\} 1$/m,
      );
      expect(metrics).toMatch(
        /^mcp_server_operation_duration_seconds_count\{(?=.*mcp_method_name="initialize").*\} 1$/m,
      );
    } finally {
      await client.close();
    }
  });

  test("a busy Prometheus port is named by its setting, telemetry.prometheusPort, and the rest runs", async () => {
    const dir = tempDir("mcpo-telemetry-busy-");
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    try {
      const port = (busy.address() as { port: number }).port;
      const config = writeServersConfig(dir, { telemetry: { prometheusPort: port } });
      const caps = await cli(["capabilities", "--json", "--config", config]);
      expect(caps.code, caps.stderr).toBe(0);
      const notes = JSON.parse(caps.stdout).telemetry.notes.join("\n");
      expect(notes).toContain(`cannot listen on 127.0.0.1:${port} (EADDRINUSE)`);
      expect(notes).toContain("pick another telemetry.prometheusPort");
      expect(notes).not.toContain("prometheus.port");
      const run = await cli(["run", "-", "--config", config], { input: "return 2" });
      expect(run.code).toBe(0);
      expect(run.stderr).toContain("telemetry.prometheusPort");
    } finally {
      busy.close();
    }
  });

  test("the standard OTEL_* variables: an OTLP endpoint turns telemetry on, OTEL_SDK_DISABLED off", async () => {
    const received: { path: string; body: string }[] = [];
    const collector = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        received.push({ path: req.url ?? "", body: Buffer.concat(chunks).toString("utf8") });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve));
    try {
      const endpoint = `http://127.0.0.1:${(collector.address() as { port: number }).port}`;
      const dir = tempDir("mcpo-otel-env-");
      const config = writeServersConfig(dir); // no telemetry section
      const env = {
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
        OTEL_SERVICE_NAME: "cli-from-env",
        OTEL_METRIC_EXPORT_INTERVAL: "600000",
      };
      const caps = await cli(["capabilities", "--json", "--config", config], { env });
      expect(caps.code, caps.stderr).toBe(0);
      const telemetry = JSON.parse(caps.stdout).telemetry;
      expect(telemetry.enabled).toBe(true);
      expect(telemetry.exporters).toContain(`otlp OTEL_EXPORTER_OTLP_ENDPOINT=${endpoint}`);
      received.length = 0;
      const run = await cli(["run", "-", "--config", config], { env, input: "return 3" });
      expect(run.code, run.stderr).toBe(0);
      // Shutdown flushed the metrics to the collector, under the environment's service name.
      const metrics = received.filter((r) => r.path === "/v1/metrics");
      expect(metrics.length).toBeGreaterThan(0);
      expect(metrics.map((r) => r.body).join("")).toContain("cli-from-env");

      const off = await cli(["capabilities", "--json", "--config", config], {
        env: { ...env, OTEL_SDK_DISABLED: "true" },
      });
      const disabled = JSON.parse(off.stdout).telemetry;
      expect(disabled.enabled).toBe(false);
      expect(disabled.notes).toContain("telemetry is off: OTEL_SDK_DISABLED=true");
    } finally {
      collector.close();
    }
  });

  test("mode hybrid composes the available sandboxes and runs programs", async () => {
    const dir = tempDir("mcpo-hybrid-");
    const config = writeServersConfig(dir, { sandbox: { mode: "hybrid" } });
    const caps = await cli(["capabilities", "--json", "--config", config]);
    expect(caps.code, caps.stderr).toBe(0);
    const sandbox = JSON.parse(caps.stdout).sandbox;
    expect(sandbox).toMatchObject({
      configuredMode: "hybrid",
      activeMode: "hybrid",
      available: true,
    });
    const run = await cli(["run", "-", "--json", "--config", config], {
      input: "return (await memory.read_graph({})).entities.length + 1",
    });
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.value).toBe(1);
    expect(["process", "wasm", "docker"]).toContain(result.mode);
  });
});
