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
    expect(page).toContain("Code-mode tokens: before the token work and now");
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

  test("before and now, as billed, fixed cost and discovery: the figures the token work is judged by", async () => {
    const dir = tempDir("mcpo-bench-tokens-");
    const r = await cli(
      [
        "benchmark",
        "--scenario",
        "dependent-loop",
        "--scenario",
        "sql-reconcile",
        "--sandbox",
        "process",
        "--quick",
        "--iterations",
        "1",
        "--throughput-seconds",
        "0",
        "--json",
      ],
      { cwd: dir, timeoutMs: 180_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    // A scenario is never skipped silently: DBHub is installed with the CLI.
    expect(report.skipped).toEqual([]);
    const [loop, sql] = report.scenarios;
    for (const s of [loop, sql]) {
      expect(s.error).toBeUndefined();
      const before = s.codeModeBefore;
      expect(before.tokens).toBe(
        before.metaToolTokens + before.programTokens + before.resultTokens,
      );
      expect(before.programTokens).toBe(s.codeMode.programTokens);
      // At least 30% fewer code-mode tokens than before the token work.
      expect(s.codeModeCutPct).toBeGreaterThanOrEqual(30);
      expect(s.codeMode.metaToolTokens).toBeLessThanOrEqual(350);
      // As billed: the single pass is the headline; cumulative counts re-read context.
      const b = s.billed;
      expect(b.plain.singlePass).toBe(s.plain.tokens);
      expect(b.codeMode.singlePass).toBe(s.codeMode.tokens);
      expect(b.plain.roundTrips).toBe(s.plain.roundTrips);
      expect(b.plain.cumulative).toBeGreaterThan(b.plain.singlePass);
      expect(b.codeMode.cumulative).toBeGreaterThan(b.codeMode.singlePass);
      expect(b.plain.cumulativeCached).toBeLessThanOrEqual(b.plain.cumulative);
      expect(b.cachedInputRate).toBe(0.1);
      expect(s.inlineApi.apiTokens).toBeGreaterThan(0);
      expect(s.inlineApi.withSearch.roundTrips).toBe(3);
      expect(s.inlineApi.inline.roundTrips).toBe(2);
    }
    // End to end: the model's turns priced by the default speed model plus the measured work.
    expect(report.modelSpeed).toEqual({
      timeToFirstTokenMs: 600,
      inputTokensPerSecond: 5000,
      outputTokensPerSecond: 60,
    });
    for (const s of [loop, sql]) {
      const t = s.taskTime;
      expect(t.mode).toBe("process");
      expect(t.plain.roundTrips).toBe(s.billed.plain.roundTrips);
      expect(t.codeMode.roundTrips).toBe(s.billed.codeMode.roundTrips);
      expect(t.codeMode.workMs).toBe(Math.round(s.wallTime.process.meanMs));
      // Each turn pays at least its time to first token; the context re-read adds the rest.
      expect(t.plain.modelMs).toBeGreaterThan(600 * t.plain.roundTrips);
      expect(t.plain.totalMs).toBe(t.plain.modelMs + t.plain.workMs);
      expect(t.speedUp).toBe(Math.round((t.plain.totalMs / t.codeMode.totalMs) * 10) / 10);
    }
    // 52 turns against 2: the dependent loop is where code mode saves time.
    expect(loop.taskTime.speedUp).toBeGreaterThan(5);
    // 51 dependent round trips: plain MCP re-reads a growing context 52 times.
    expect(loop.billed.plain.roundTrips).toBe(52);
    expect(loop.billed.reductionPct.cumulative).toBeGreaterThan(
      loop.billed.reductionPct.singlePass,
    );
    // The SQL task: every paid order and payment line through plain MCP, a short list in code mode.
    expect(sql.servers).toEqual(["db", "files"]);
    expect(sql.plain.toolCalls).toBe(2);
    expect(sql.plain.roundTrips).toBe(2);
    expect(sql.plain.callTokens).toBeGreaterThan(sql.codeMode.tokens * 10);
    expect(sql.coreEstimatePlainMcp).toBe(sql.plain.tokens);
    // The fixed cost for 1, 5 and 50 servers stays within 350 tokens.
    expect(report.fixedCost.map((f: { servers: number }) => f.servers)).toEqual([1, 5, 50]);
    for (const f of report.fixedCost) {
      expect(f.now).toBeLessThanOrEqual(350);
      expect(f.now).toBeLessThan(f.before);
    }
  });

  test("the end-to-end table prints the speed model next to the figures; the model is configurable", async () => {
    const dir = tempDir("mcpo-bench-time-");
    const r = await cli(
      [
        "benchmark",
        "--scenario",
        "filter-listing",
        "--sandbox",
        "process",
        "--quick",
        "--iterations",
        "1",
        "--throughput-seconds",
        "0",
        "--model-ttft-ms",
        "250",
        "--model-input-tps",
        "20000",
        "--model-output-tps",
        "150",
      ],
      { cwd: dir, timeoutMs: 180_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      "each model turn priced at 250 ms to first token + the context re-sent at 20000 input tokens/s + the output at 150 tokens/s",
    );
    expect(r.stdout).toMatch(
      /^filter-listing\s+\d+, [\d.]+ \+ [\d.]+ = [\d.]+\s+2, [\d.]+ \+ [\d.]+ = [\d.]+\s+[\d.]+x$/m,
    );
    const bad = await cli(["benchmark", "--model-input-tps", "0"], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--model-input-tps takes an integer from 1");
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
      /^scenario\s+plain MCP\s+code mode before\s+code mode now\s+cut\s+reduction \(before -> now\)\s+round trips\s+process ms$/m,
    );
    expect(r.stdout).toMatch(/^filter-listing\s+\d+\s+\d+\s+\d+\s+[\d.]+%\s+[\d.]+% -> [\d.]+%/m);
    expect(r.stdout).toContain("sandbox wasm unavailable: ");
    expect(r.stdout).toContain("@mcp-optimizer/sandbox-wasm blocked by the test");
  });
});
