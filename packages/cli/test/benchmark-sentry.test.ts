import { describe, expect, test } from "vitest";
import { cli, tempDir } from "./helpers.js";

describe("benchmark --scenario sentry-triage", () => {
  test("the real Sentry MCP server against the fixture: every tool definition and issue detail over plain MCP, one summary in code mode", async () => {
    const r = await cli(
      [
        "benchmark",
        "--scenario",
        "sentry-triage",
        "--sandbox",
        "process",
        "--quick",
        "--iterations",
        "1",
        "--throughput-seconds",
        "0",
        "--json",
      ],
      { cwd: tempDir("mcpo-bench-sentry-"), timeoutMs: 120_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.tokenizer).toBe("o200k_base");
    const [sentry] = report.scenarios;
    // Ran, not reported unavailable: the adaptor and @sentry/mcp-server are this CLI's dependencies.
    expect(sentry.id).toBe("sentry-triage");
    expect(sentry.error).toBeUndefined();
    expect(sentry.servers).toEqual(["sentry"]);
    // Plain MCP: all of the server's tool definitions, the list, then each issue's details (quick: 4).
    expect(sentry.tools).toBeGreaterThan(5);
    expect(sentry.plain.definitionTokens).toBeGreaterThan(3000);
    expect(sentry.plain.tokens).toBe(sentry.plain.definitionTokens + sentry.plain.callTokens);
    expect(sentry.plain.toolCalls).toBe(5);
    expect(sentry.plain.roundTrips).toBe(3);
    // Code mode: a search finds the adaptor's triage skill, a one-line program calls it (the
    // same calls as its program made), and only its result is read.
    expect(sentry.codeMode.toolCalls).toBe(5);
    expect(sentry.codeMode.roundTrips).toBe(3);
    expect(sentry.codeMode.discoveryTokens).toBeGreaterThan(0);
    expect(sentry.codeMode.tokens).toBe(
      sentry.codeMode.metaToolTokens +
        sentry.codeMode.programTokens +
        sentry.codeMode.resultTokens +
        sentry.codeMode.discoveryTokens,
    );
    expect(sentry.codeMode.programTokens).toBeLessThan(60);
    // Before skills the model wrote the whole triage program.
    expect(sentry.codeModeBefore.programTokens).toBeGreaterThan(500);
    expect(sentry.codeMode.tokens).toBeLessThan(sentry.codeModeBefore.tokens);
    expect(sentry.codeMode.resultTokens * 10).toBeLessThan(sentry.plain.callTokens);
    expect(sentry.codeMode.tokens).toBeLessThan(sentry.plain.tokens / 3);
    expect(sentry.coreEstimatePlainMcp).toBe(sentry.plain.tokens);
    expect(sentry.wallTime.process.runs).toBe(1);
  });
});
