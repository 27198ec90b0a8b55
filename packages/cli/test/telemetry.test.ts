import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { describe, expect, test } from "vitest";
import { cli, exited, freePort, startCli, tempDir, writeServersConfig } from "./helpers.js";

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
    } finally {
      served.child.kill("SIGTERM");
    }
    expect(await exited(served.child)).toBe(0);
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
