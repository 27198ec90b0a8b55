import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { SANDBOX_MODES } from "@mcp-optimizer/core";
import { type BenchmarkReport, runBenchmark } from "../benchmark/run-benchmark.js";
import { scenarios } from "../benchmark/scenarios/index.js";
import { DEFAULT_MODEL_SPEED, type ModelSpeed, type TaskTime } from "../benchmark/task-time.js";
import { boolFlag, type Command, listFlag, stringFlag } from "../command.js";
import { loadConfig } from "../config/load-config.js";
import { ExitCodes } from "../exit-codes.js";
import { formatTable, writeJson, writeLine } from "../io.js";
import { renderHtmlReport } from "../report/html-report.js";
import { intFlag, usageError } from "../usage-error.js";

const HELP = `Usage: mcp-optimizer benchmark [options]

Runs each scenario two ways against real MCP servers and counts both transcripts with the
o200k tokenizer: plain MCP (every tool definition, every call and result in context) and
code mode (meta-tools, the program, its result). Times the program on each sandbox and
measures latency, executions per second and memory per session. Estimates each task's time
end to end: the model's round trips priced by a model of a model (time to first token,
input and output tokens per second; the --model-* flags) plus the measured tool calls
(plain MCP) or execution (code mode, on the first sandbox). Progress on stderr, a
table at the end on stdout. Needs neither Docker nor Redis.

Scenarios: ${scenarios.map((s) => s.id).join(", ")}

Options:
  --scenario ID      run only this scenario (repeatable)
  --sandbox MODES    comma-separated modes to time (default: the config's mode, else
                     process,wasm; docker and gvisor when asked)
  --quick            small fixtures and short phases (seconds, for smoke tests)
  --iterations N     timed runs per program and sandbox (default 5, quick 2)
  --throughput-seconds S  seconds of the latency and throughput phases (default 3; 0: off)
  --model-ttft-ms MS       the task-time model: time to first token per round trip (default ${DEFAULT_MODEL_SPEED.timeToFirstTokenMs})
  --model-input-tps N      input tokens per second, for the context re-sent each turn (default ${DEFAULT_MODEL_SPEED.inputTokensPerSecond})
  --model-output-tps N     output tokens per second (default ${DEFAULT_MODEL_SPEED.outputTokensPerSecond})
  --json             print the full report as JSON on stdout instead of the table
  --report FILE      also write a self-contained HTML page with charts
  --list             list the scenarios and exit
  --config FILE      the config file (its sandbox section sets the default modes)
  -h, --help         this help
`;

export const benchmarkCommand: Command = {
  name: "benchmark",
  summary: "token savings, round trips, task time, latency and throughput on real servers",
  help: HELP,
  maxPositionals: 0,
  options: {
    scenario: { type: "string", multiple: true },
    sandbox: { type: "string" },
    quick: { type: "boolean" },
    iterations: { type: "string" },
    "throughput-seconds": { type: "string" },
    "model-ttft-ms": { type: "string" },
    "model-input-tps": { type: "string" },
    "model-output-tps": { type: "string" },
    json: { type: "boolean" },
    report: { type: "string" },
    list: { type: "boolean" },
  },
  async run({ values, io, config }) {
    if (boolFlag(values, "list")) {
      for (const s of scenarios)
        writeLine(io.stdout, `${s.id.padEnd(20)} ${s.title}${s.small ? " (small)" : ""}`);
      return ExitCodes.OK;
    }
    const wanted = listFlag(values, "scenario");
    for (const id of wanted) {
      if (!scenarios.some((s) => s.id === id)) {
        throw usageError(
          `no scenario "${id}"; there are ${scenarios.map((s) => s.id).join(", ")}`,
          "benchmark",
        );
      }
    }
    const chosen = wanted.length > 0 ? scenarios.filter((s) => wanted.includes(s.id)) : scenarios;
    let modes = stringFlag(values, "sandbox")
      ?.split(",")
      .map((m) => m.trim())
      .filter(Boolean);
    for (const m of modes ?? []) {
      if (!(SANDBOX_MODES as readonly string[]).includes(m) || m === "hybrid") {
        throw usageError(`--sandbox takes process, wasm, docker, gvisor; got "${m}"`, "benchmark");
      }
    }
    if (!modes) {
      const loaded = await loadConfig({ explicit: config });
      const configured = loaded.config.sandbox?.mode ?? "wasm";
      modes =
        configured === "hybrid"
          ? ["process", "wasm", "docker"]
          : [...new Set(["process", configured])];
    }
    const iterations = intFlag(stringFlag(values, "iterations"), "iterations", "benchmark", {
      max: 1000,
    });
    const throughputSeconds = intFlag(
      stringFlag(values, "throughput-seconds"),
      "throughput-seconds",
      "benchmark",
      { min: 0, max: 600 },
    );
    const speedFlag = (flag: string, fallback: number) =>
      intFlag(stringFlag(values, flag), flag, "benchmark", {
        min: flag === "model-ttft-ms" ? 0 : 1,
      }) ?? fallback;
    const modelSpeed: ModelSpeed = {
      timeToFirstTokenMs: speedFlag("model-ttft-ms", DEFAULT_MODEL_SPEED.timeToFirstTokenMs),
      inputTokensPerSecond: speedFlag("model-input-tps", DEFAULT_MODEL_SPEED.inputTokensPerSecond),
      outputTokensPerSecond: speedFlag(
        "model-output-tps",
        DEFAULT_MODEL_SPEED.outputTokensPerSecond,
      ),
    };
    const reportFile = stringFlag(values, "report");
    const quick = boolFlag(values, "quick");
    // A live status line on a terminal; plain lines when stderr is a file or a pipe.
    const live = (io.stderr as { isTTY?: boolean }).isTTY === true;
    const report = await runBenchmark({
      scenarios: chosen,
      sandboxes: modes,
      quick,
      modelSpeed,
      ...(iterations !== undefined ? { iterations } : {}),
      ...(throughputSeconds !== undefined ? { throughputSeconds } : {}),
      env: io.env,
      progress: (m) => writeLine(io.stderr, `${live ? "\r\x1b[K" : ""}benchmark ${m}`),
      ...(live
        ? { tick: (m: string) => io.stderr.write(`\r\x1b[Kbenchmark ${m.slice(0, 100)}`) }
        : {}),
    });
    if (reportFile) {
      const path = resolve(io.cwd, reportFile);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, renderHtmlReport(report));
      writeLine(io.stderr, `benchmark: wrote ${path}`);
    }
    if (boolFlag(values, "json")) writeJson(io.stdout, report);
    else writeLine(io.stdout, formatReport(report));
    return report.scenarios.some((s) => s.error) ? ExitCodes.FAILED : ExitCodes.OK;
  },
};

/** The human table printed at the end. */
export function formatReport(report: BenchmarkReport): string {
  const modes = report.sandboxes.filter((s) => s.available).map((s) => s.mode);
  const ok = report.scenarios.filter((s) => !s.error);
  const scenarioTable = formatTable(
    [
      "scenario",
      "plain MCP",
      "code mode before",
      "code mode now",
      "cut",
      "reduction (before -> now)",
      "round trips",
      ...modes.map((m) => `${m} ms`),
    ],
    report.scenarios.map((s) =>
      s.error
        ? [s.id, "failed", s.error.slice(0, 60), "", "", "", "", ...modes.map(() => "")]
        : [
            s.id,
            s.plain.tokens,
            s.codeModeBefore.tokens,
            s.codeMode.tokens,
            `${s.codeModeCutPct}%`,
            `${percentLess(s.plain.tokens, s.codeModeBefore.tokens)}% -> ${s.reductionPct}%`,
            `${s.plain.roundTrips} -> ${s.codeMode.roundTrips}`,
            ...modes.map((m) => s.wallTime[m]?.meanMs ?? "-"),
          ],
    ),
  );
  const partsTable = formatTable(
    ["scenario", "meta-tools (before -> now)", "program", "result (before -> now)", "encoding"],
    ok.map((s) => [
      s.id,
      `${s.codeModeBefore.metaToolTokens} -> ${s.codeMode.metaToolTokens}`,
      s.codeMode.programTokens,
      `${s.codeModeBefore.resultTokens} -> ${s.codeMode.resultTokens}`,
      s.codeMode.resultEncoding ?? "-",
    ]),
  );
  const rate = ok[0]?.billed.cachedInputRate;
  const billedTable = formatTable(
    [
      "scenario (plain -> code mode now)",
      "single pass",
      "cumulative",
      `cumulative, cache at ${rate ?? "-"}`,
    ],
    ok.map((s) => {
      const b = s.billed;
      const cell = (key: "singlePass" | "cumulative" | "cumulativeCached") =>
        `${b.plain[key]} -> ${b.codeMode[key]} (${b.reductionPct[key]}% less)`;
      return [s.id, cell("singlePass"), cell("cumulative"), cell("cumulativeCached")];
    }),
  );
  const fixedTable = formatTable(
    ["servers connected", "meta-tools before", "meta-tools now", "cut"],
    report.fixedCost.map((f) => [f.servers, f.before, f.now, `${percentLess(f.before, f.now)}%`]),
  );
  const inlineTable = formatTable(
    [
      "scenario",
      "typed API inline",
      "search first (cumulative)",
      "API inline (cumulative)",
      "inline pays",
    ],
    ok
      .filter((s) => s.inlineApi)
      .map((s) => [
        s.id,
        s.inlineApi!.apiTokens,
        s.inlineApi!.withSearch.cumulative,
        s.inlineApi!.inline.cumulative,
        s.inlineApi!.pays ? "yes" : "no",
      ]),
  );
  const speed = report.modelSpeed;
  const seconds = (ms: number) => (ms / 1000).toFixed(1);
  const timed = ok.filter((s) => s.taskTime);
  const timeTable = formatTable(
    [
      "scenario",
      "plain MCP: turns, model + tools = total s",
      `code mode (${timed[0]?.taskTime?.mode ?? "-"}): turns, model + run = total s`,
      "speed-up",
    ],
    timed.map((s) => {
      const t = s.taskTime!;
      const cell = (p: TaskTime) =>
        `${p.roundTrips}, ${seconds(p.modelMs)} + ${seconds(p.workMs)} = ${seconds(p.totalMs)}`;
      return [s.id, cell(t.plain), cell(t.codeMode), `${t.speedUp}x`];
    }),
  );
  const sandboxTable = formatTable(
    ["sandbox", "latency mean ms", "p95 ms", "executions/s", "MB per session"],
    report.sandboxes.map((s) =>
      s.available
        ? [
            s.mode,
            s.latency?.meanMs ?? "-",
            s.latency?.p95Ms ?? "-",
            s.throughput?.perSecond ?? "-",
            s.memory?.perSessionMb ?? "-",
          ]
        : [s.mode, "unavailable", "", "", ""],
    ),
  );
  // What was left out, and why, belongs with the figures (the progress lines may be long gone).
  const leftOut = [
    ...report.sandboxes
      .filter((s) => !s.available)
      .map((s) => `sandbox ${s.mode} unavailable: ${s.reason ?? "no reason given"}`),
    ...report.skipped.map((s) => `scenario ${s.id} skipped: ${s.reason}`),
    ...report.scenarios.filter((s) => s.error).map((s) => `scenario ${s.id} failed: ${s.error}`),
  ];
  return [
    "Tokens per scenario, single pass (the headline): plain MCP, code mode before the token work (frozen baseline) and now",
    scenarioTable,
    "Where code mode's tokens go",
    partsTable,
    "As a model API bills it: every round trip reads the context again (cumulative input + output), with and without a prompt cache",
    billedTable,
    "Fixed cost: the meta-tool definitions for N servers (synthetic catalogs)",
    fixedTable,
    "Discovery: search first, or the typed API inline in execute_code (inlineApi)",
    inlineTable,
    `End to end, estimated: each model turn priced at ${speed.timeToFirstTokenMs} ms to first token + the context re-sent at ${speed.inputTokensPerSecond} input tokens/s + the output at ${speed.outputTokensPerSecond} tokens/s (--model-*), plus the measured tool calls (plain MCP) or execution (code mode)`,
    timeTable,
    "Sandboxes",
    sandboxTable,
    `${leftOut.map((l) => `${l}\n`).join("")}tokens counted with ${report.tokenizer}; ${report.iterations} timed runs per program; ${report.durationMs} ms in all`,
  ].join("\n\n");
}

/** Percent fewer, floored to a tenth: a reduction never shows more than it is (never 100%). */
function percentLess(before: number, now: number): number {
  return before > 0 ? Math.floor((1 - now / before) * 1000) / 10 : 0;
}
