import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { blockedPackageEnv, cli, tempDir } from "./helpers.js";

describe("benchmark", () => {
  test("--json on a small scenario: both transcripts counted, the program checked, sandboxes measured", async () => {
    const dir = tempDir("mcpo-bench-");
    const html = join(dir, "out", "report.html");
    const r = await cli(
      [
        "benchmark",
        "--scenario",
        "filter-listing",
        "--scenario",
        "dependent-loop",
        "--sandbox",
        "process",
        "--quick",
        "--iterations",
        "2",
        "--throughput-seconds",
        "1",
        "--json",
        "--report",
        html,
      ],
      { cwd: dir, timeoutMs: 120_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    // progress on stderr, data on stdout
    expect(r.stderr).toContain("benchmark [1/2] filter-listing: preparing");
    expect(r.stderr).toContain("benchmark [2/2] dependent-loop");
    const report = JSON.parse(r.stdout);
    expect(report.tokenizer).toBe("o200k_base");
    expect(report.scenarios.map((s: { id: string }) => s.id)).toEqual([
      "filter-listing",
      "dependent-loop",
    ]);
    for (const s of report.scenarios) {
      expect(s.error).toBeUndefined();
      expect(s.plain.tokens).toBe(s.plain.definitionTokens + s.plain.callTokens);
      expect(s.codeMode.tokens).toBe(
        s.codeMode.metaToolTokens + s.codeMode.programTokens + s.codeMode.resultTokens,
      );
      expect(s.codeMode.tokens).toBeLessThan(s.plain.tokens);
      expect(s.reductionPct).toBeCloseTo((1 - s.codeMode.tokens / s.plain.tokens) * 100, 0);
      expect(s.codeMode.roundTrips).toBe(2);
      expect(s.wallTime.process.runs).toBe(2);
      expect(s.wallTime.process.meanMs).toBeGreaterThan(0);
    }
    const [filter, loop] = report.scenarios;
    // The listing passes through the model over plain MCP, not in code mode.
    expect(filter.plain.callTokens).toBeGreaterThan(filter.codeMode.resultTokens * 5);
    expect(filter.plain.toolCalls).toBe(1);
    // 51 dependent calls: one round trip each over plain MCP (+ the answer).
    expect(loop.plain.toolCalls).toBe(51);
    expect(loop.plain.roundTrips).toBe(52);
    expect(loop.codeMode.toolCalls).toBe(51);
    // Core's own plain-MCP estimate of the program's calls agrees with the recorded path.
    expect(loop.coreEstimatePlainMcp).toBe(loop.plain.tokens);
    const process = report.sandboxes.find((s: { mode: string }) => s.mode === "process");
    expect(process.available).toBe(true);
    expect(process.throughput.perSecond).toBeGreaterThan(0);
    expect(process.latency.runs).toBeGreaterThan(0);
    expect(process.memory.perSessionMb).toBeGreaterThan(0);

    const page = readFileSync(html, "utf8");
    expect(page).toMatch(/^<!doctype html>/);
    expect(page).toContain("<svg");
    expect(page).toContain("Filter 3,000 files to a handful");
    // self-contained: no scripts, stylesheets, images or fonts from elsewhere
    expect(page).not.toMatch(/<script|<link|<img|src=|url\(/i);
  });

  test("data-heavy work (scan-logs): every log passes through plain MCP, only a summary through code mode", async () => {
    const dir = tempDir("mcpo-bench-logs-");
    const r = await cli(
      [
        "benchmark",
        "--scenario",
        "scan-logs",
        "--sandbox",
        "process",
        "--quick",
        "--iterations",
        "1",
        "--throughput-seconds",
        "0",
        "--json",
      ],
      { cwd: dir, timeoutMs: 120_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    const [logs] = JSON.parse(r.stdout).scenarios;
    expect(logs.error).toBeUndefined();
    expect(logs.plain.toolCalls).toBe(2);
    // 100 files of 40 lines each are read; the program returns a few error counts.
    expect(logs.plain.callTokens).toBeGreaterThan(50_000);
    expect(logs.codeMode.resultTokens).toBeLessThan(300);
    expect(logs.codeMode.toolCalls).toBe(2);
    expect(logs.coreEstimatePlainMcp).toBe(logs.plain.tokens);
  });

  test("an unknown scenario or sandbox is a usage error; --list names the scenarios", async () => {
    const bad = await cli(["benchmark", "--scenario", "nope"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('no scenario "nope"');
    const mode = await cli(["benchmark", "--sandbox", "vm"]);
    expect(mode.code).toBe(2);
    const list = await cli(["benchmark", "--list"]);
    expect(list.code).toBe(0);
    expect(
      list.stdout
        .split("\n")
        .map((l) => l.split(" ")[0])
        .filter(Boolean),
    ).toEqual(
      expect.arrayContaining(["copy-document", "filter-listing", "dependent-loop", "many-servers"]),
    );
  });

  test("an unavailable sandbox is reported and left out, not fatal", async () => {
    const r = await cli(
      [
        "benchmark",
        "--scenario",
        "filter-listing",
        "--sandbox",
        "process,wasm",
        "--quick",
        "--iterations",
        "1",
        "--throughput-seconds",
        "0",
      ],
      { timeoutMs: 120_000, env: blockedPackageEnv("@mcp-optimizer/sandbox-wasm") },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("sandbox wasm: not available, left out");
    // the table has the process column only, and says below it why wasm is missing
    expect(r.stdout).toMatch(
      /^scenario\s+plain MCP\s+code mode\s+reduction\s+round trips\s+process ms$/m,
    );
    expect(r.stdout).toMatch(/^filter-listing\s+\d+\s+\d+\s+[\d.]+%/m);
    expect(r.stdout).toContain("sandbox wasm unavailable: ");
    expect(r.stdout).toContain("@mcp-optimizer/sandbox-wasm blocked by the test");
  });
});
