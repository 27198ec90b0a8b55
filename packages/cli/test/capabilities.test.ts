import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import * as z from "zod";
import { blockedPackageEnv, cli, tempDir, writeServersConfig } from "./helpers.js";

const Mode = z.strictObject({
  mode: z.string(),
  available: z.boolean(),
  reason: z.string().optional(),
  isolation: z.enum(["resource", "language", "container", "kernel", "composite"]).optional(),
  package: z.string(),
  details: z.record(z.string(), z.unknown()),
});

/** The documented schema of `capabilities --json` (README). */
const Capabilities = z.strictObject({
  version: z.string(),
  config: z.strictObject({ file: z.string().nullable() }),
  sandbox: z.strictObject({
    configuredMode: z.string(),
    activeMode: z.string(),
    available: z.boolean(),
    reason: z.string().optional(),
    limits: z.strictObject({ maxExecutionTimeMs: z.number().int(), maxMemoryMb: z.number().int() }),
  }),
  sandboxes: z.array(Mode),
  upstreams: z.array(
    z.strictObject({
      name: z.string(),
      transport: z.string(),
      reachable: z.boolean(),
      protocolVersion: z.string().optional(),
      server: z.strictObject({ name: z.string(), version: z.string() }).optional(),
      tools: z.number().int(),
      resources: z.number().int().nullable(),
      prompts: z.number().int().nullable(),
      toolDefinitionTokens: z.number().int(),
      error: z.string().optional(),
    }),
  ),
  tokens: z.strictObject({
    tokenizer: z.string(),
    toolDefinitions: z.number().int(),
    metaTools: z.number().int(),
    tools: z.number().int(),
  }),
  sessions: z.strictObject({
    kind: z.string(),
    reachable: z.boolean(),
    error: z.string().optional(),
  }),
  features: z.array(
    z.strictObject({
      name: z.string(),
      value: z.boolean(),
      source: z.enum(["default", "config", "environment", "tenant"]),
      default: z.boolean(),
      reloadable: z.boolean(),
      description: z.string(),
    }),
  ),
  telemetry: z.strictObject({
    enabled: z.boolean(),
    metrics: z.boolean(),
    traces: z.boolean(),
    exporters: z.array(z.string()),
    notes: z.array(z.string()),
  }),
});

describe("capabilities", () => {
  test("--json follows the schema and reports servers, modes, tokens and sessions", async () => {
    const dir = tempDir();
    const config = writeServersConfig(dir);
    const r = await cli(["capabilities", "--json", "--config", config]);
    expect(r.code, r.stderr).toBe(0);
    const report = Capabilities.parse(JSON.parse(r.stdout));
    expect(report.config.file).toBe(config);
    expect(report.sandbox).toMatchObject({
      configuredMode: "process",
      activeMode: "process",
      available: true,
    });
    expect(report.sandboxes.map((s) => s.mode)).toEqual(["process", "wasm", "docker", "gvisor"]);
    expect(report.sandboxes[0]!.available).toBe(true);
    for (const s of report.sandboxes) if (!s.available) expect(s.reason).toBeTruthy();
    const files = report.upstreams.find((u) => u.name === "files")!;
    expect(files).toMatchObject({ reachable: true, transport: "stdio" });
    expect(files.tools).toBeGreaterThan(5);
    expect(files.protocolVersion).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(files.toolDefinitionTokens).toBeGreaterThan(500);
    expect(report.tokens.toolDefinitions).toBe(
      report.upstreams.reduce((n, u) => n + u.toolDefinitionTokens, 0),
    );
    // The point of code mode: the meta-tools cost less than the definitions they replace.
    expect(report.tokens.metaTools).toBeLessThan(report.tokens.toolDefinitions);
    expect(report.tokens.tokenizer).toBe("o200k_base");
    expect(report.sessions).toEqual({ kind: "memory", reachable: true });
    expect(report.telemetry.enabled).toBe(false);
  });

  test("wasm by default: programs run on wasm where it is available (else on the process fallback)", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "mcp-optimizer.config.json"), JSON.stringify({ mcpServers: {} }));
    const r = await cli(["capabilities", "--json"], { cwd: dir });
    expect(r.code).toBe(0);
    const report = Capabilities.parse(JSON.parse(r.stdout));
    expect(report.sandbox.configuredMode).toBe("wasm");
    const wasm = report.sandboxes.find((s) => s.mode === "wasm")!;
    if (wasm.available) {
      expect(report.sandbox.activeMode).toBe("wasm");
      const run = await cli(["run", "-", "--json"], { cwd: dir, input: "return 6 * 7" });
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ value: 42, mode: "wasm" });
    } else {
      expect(report.sandbox.activeMode).toBe("process");
      expect(report.sandbox.reason).toContain("fallback: wasm unavailable");
      const run = await cli(["run", "-"], { cwd: dir, input: "return 6 * 7" });
      expect(run.code).toBe(0);
      expect(run.stderr).toContain("wasm sandbox unavailable, falling back to the process sandbox");
      expect(run.stdout.trim()).toBe("42");
    }
  });

  test("when the wasm package cannot load, the default falls back to process and says so everywhere", async () => {
    const dir = tempDir();
    // Importing @mcp-optimizer/sandbox-wasm fails in the CLI's process.
    const env = blockedPackageEnv("@mcp-optimizer/sandbox-wasm");
    const config = writeServersConfig(dir, { sandbox: { maxExecutionTime: 20_000 } });
    const caps = await cli(["capabilities", "--json", "--config", config], { env });
    expect(caps.code, caps.stderr).toBe(0);
    const report = Capabilities.parse(JSON.parse(caps.stdout));
    expect(report.sandbox).toMatchObject({
      configuredMode: "wasm",
      activeMode: "process",
      available: true,
      limits: { maxExecutionTimeMs: 20_000 },
    });
    expect(report.sandbox.reason).toContain("fallback: wasm unavailable");
    expect(report.sandbox.reason).toContain("@mcp-optimizer/sandbox-wasm blocked by the test");
    const wasm = report.sandboxes.find((s) => s.mode === "wasm")!;
    expect(wasm.available).toBe(false);
    expect(wasm.reason).toContain("@mcp-optimizer/sandbox-wasm blocked by the test");

    const human = await cli(["capabilities", "--config", config], { env });
    expect(human.stdout).toMatch(/^Sandbox: process \(configured wasm\)/m);

    // Programs still run, on process, against the servers; stderr says why.
    const run = await cli(["run", "-", "--json", "--config", config], {
      env,
      input: "const g = await memory.read_graph({}); return g.entities.length + 42;",
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain("wasm sandbox unavailable, falling back to the process sandbox");
    expect(JSON.parse(run.stdout)).toMatchObject({ value: 42, mode: "process" });
  });

  test("the human table names each server and mode", async () => {
    const dir = tempDir();
    const r = await cli(["capabilities", "--config", writeServersConfig(dir)]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^files\s+yes\s+stdio/m);
    expect(r.stdout).toMatch(/^memory\s+yes\s+stdio/m);
    expect(r.stdout).toMatch(/^process\s+yes\s+resource/m);
    expect(r.stdout).toContain("Sessions: memory, reachable: yes");
  });

  test("an unreachable server is listed as such, not an error", async () => {
    const dir = tempDir();
    const config = join(dir, "c.json");
    writeFileSync(
      config,
      JSON.stringify({
        mcpServers: { ghost: { url: "http://127.0.0.1:9/mcp" } },
        sandbox: { mode: "process" },
      }),
    );
    const r = await cli(["capabilities", "--json", "--config", config]);
    expect(r.code).toBe(0);
    const ghost = Capabilities.parse(JSON.parse(r.stdout)).upstreams[0]!;
    expect(ghost).toMatchObject({ name: "ghost", reachable: false, tools: 0, resources: null });
    expect(ghost.error).toBeTruthy();
  });
});
