/**
 * `pnpm bench`: what telemetry costs an execution. The same programs run through
 * MCPOptimizer (process sandbox, server-everything over stdio) with telemetry off, with
 * core's API calls on but no SDK (the no-op), with the SDK's metrics and the Prometheus
 * endpoint, with traces too, and with the file audit sink on top. Prints figures and ratios
 * against "off"; asserts nothing. Needs `pnpm build` first (core and this package).
 *
 *   node bench/run.ts                 all figures
 *   BENCH_QUICK=1 node bench/run.ts   fewer iterations
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Attr, Instruments, MCPOptimizer, Telemetry } from "@mcp-optimizer/core";
import { SpanKind } from "@opentelemetry/api";
import {
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
} from "@opentelemetry/sdk-trace";
import { createFileAuditSink, startTelemetry, type TelemetryHandle } from "../dist/index.js";

const QUICK = process.env.BENCH_QUICK === "1";
const RUNS = QUICK ? 150 : 600;
const WARMUP = QUICK ? 20 : 60;
const ROUNDS = QUICK ? 1 : 5;

const require = createRequire(import.meta.url);
const everything = {
  command: process.execPath,
  args: [
    join(
      dirname(require.resolve("@modelcontextprotocol/server-everything/package.json")),
      "dist",
      "index.js",
    ),
    "stdio",
  ],
};

// Spans are built and handed to an exporter that drops them: the SDK's cost without a network.
let exportedSpans = 0;
const discard: SpanExporter = {
  export(spans: ReadableSpan[], done) {
    exportedSpans += spans.length;
    done({ code: 0 });
  },
  shutdown: async () => {},
};

interface Scenario {
  name: string;
  sdk: "none" | "metrics" | "traces";
  enableMetrics: boolean;
  enableTelemetry: boolean;
  audit: boolean;
}

const scenarios: Scenario[] = [
  {
    name: "off (no SDK, enableMetrics false)",
    sdk: "none",
    enableMetrics: false,
    enableTelemetry: false,
    audit: false,
  },
  {
    name: "API no-op (no SDK, metrics on)",
    sdk: "none",
    enableMetrics: true,
    enableTelemetry: false,
    audit: false,
  },
  {
    name: "SDK metrics + Prometheus",
    sdk: "metrics",
    enableMetrics: true,
    enableTelemetry: false,
    audit: false,
  },
  {
    name: "SDK metrics + traces",
    sdk: "traces",
    enableMetrics: true,
    enableTelemetry: true,
    audit: false,
  },
  {
    name: "SDK metrics + traces + file audit",
    sdk: "traces",
    enableMetrics: true,
    enableTelemetry: true,
    audit: true,
  },
];

const programs = {
  empty: "return 1",
  "1 tool call": "return await everything.get_sum({ a: 1, b: 2 })",
};

interface Figures {
  perSecond: number;
  /** Mean latency of the middle 80% of runs: other processes' bursts land in the tails. */
  trimmedMs: number;
  p50: number;
  p95: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

async function measure(
  scenario: Scenario,
  dir: string,
): Promise<Record<string, Figures> & { scrapeMs?: number; scrapeBytes?: number }> {
  let handle: TelemetryHandle | undefined;
  if (scenario.sdk !== "none") {
    handle = await startTelemetry({
      prometheus: { host: "127.0.0.1", port: 0 },
      traces: scenario.sdk === "traces",
      logs: false,
      spanProcessors:
        scenario.sdk === "traces" ? [new SimpleSpanProcessor({ exporter: discard })] : [],
    });
  }
  const audit = scenario.audit
    ? createFileAuditSink({ path: join(dir, `${Date.now()}.jsonl`) })
    : undefined;
  const optimizer = new MCPOptimizer({
    sandboxConfig: {
      mode: "process",
      enableMetrics: scenario.enableMetrics,
      enableTelemetry: scenario.enableTelemetry,
    },
    mcpServers: { everything },
    ...(audit ? { audit } : {}),
  });
  const out: Record<string, Figures> & { scrapeMs?: number; scrapeBytes?: number } = {};
  try {
    await optimizer.start();
    for (const [label, code] of Object.entries(programs)) {
      for (let i = 0; i < WARMUP; i++) await optimizer.run(code, { sessionId: "bench" });
      const latencies: number[] = [];
      const started = performance.now();
      for (let i = 0; i < RUNS; i++) {
        const t = performance.now();
        await optimizer.run(code, { sessionId: "bench" });
        latencies.push(performance.now() - t);
      }
      const elapsed = performance.now() - started;
      latencies.sort((a, b) => a - b);
      const middle = latencies.slice(Math.floor(RUNS * 0.1), Math.ceil(RUNS * 0.9));
      out[label] = {
        perSecond: (RUNS * 1000) / elapsed,
        trimmedMs: middle.reduce((a, b) => a + b, 0) / middle.length,
        p50: percentile(latencies, 0.5),
        p95: percentile(latencies, 0.95),
      };
    }
    if (handle?.prometheusUrl) {
      const t = performance.now();
      const text = await (await fetch(handle.prometheusUrl)).text();
      out.scrapeMs = performance.now() - t;
      out.scrapeBytes = Buffer.byteLength(text);
    }
  } finally {
    await optimizer.close();
    await handle?.shutdown();
  }
  return out;
}

/**
 * The recording alone, without the sandbox: what core's Telemetry does for one execution with
 * one tool call (3 + 1 spans, 9 counter adds, 4 histogram records), in microseconds.
 */
async function recordingCost(
  sdk: Scenario["sdk"],
  metrics: boolean,
  traces: boolean,
): Promise<number> {
  const handle =
    sdk === "none"
      ? undefined
      : await startTelemetry({
          prometheus: { host: "127.0.0.1", port: 0 },
          traces: sdk === "traces",
          logs: false,
          spanProcessors: sdk === "traces" ? [new SimpleSpanProcessor({ exporter: discard })] : [],
        });
  const t = new Telemetry({ metrics, traces });
  const attrs = { [Attr.sessionId]: "bench", [Attr.tenant]: "default", [Attr.executionId]: "x" };
  const metric = { [Attr.mode]: "process", [Attr.outcome]: "ok", [Attr.kind]: "run" };
  const tool = { [Attr.server]: "everything", [Attr.toolName]: "get-sum", [Attr.outcome]: "ok" };
  const one = () =>
    t.span("execute_tool execute_code", attrs, async () => {
      await t.span("mcp_optimizer.sandbox.acquire", attrs, async () => {});
      await t.span("mcp_optimizer.sandbox.execute", attrs, async () => {
        await t.span(
          "tools/call get-sum",
          tool,
          async () => {},
          SpanKind.CLIENT,
          t.activeContext(),
        );
        t.count(Instruments.toolCalls, 1, tool);
        t.seconds(Instruments.mcpClientOperationDuration, 0.4, tool);
      });
      t.count(Instruments.executions, 1, metric);
      t.seconds(Instruments.executionDuration, 0.7, metric);
      t.count(Instruments.tokensUsed, 500, { [Attr.mode]: "process" });
      t.count(Instruments.tokensPlainMcp, 1600, { [Attr.mode]: "process" });
      t.count(Instruments.tokensSaved, 1100, { [Attr.mode]: "process" });
      t.count(Instruments.costEstimated, 0.0015, {
        [Attr.model]: "m",
        [Attr.costPath]: "code_mode",
      });
      t.count(Instruments.costEstimated, 0.0048, {
        [Attr.model]: "m",
        [Attr.costPath]: "plain_mcp",
      });
      t.seconds(Instruments.sessionStoreDuration, 0.01, { [Attr.storeOperation]: "get" });
      t.seconds(Instruments.sessionStoreDuration, 0.01, { [Attr.storeOperation]: "update" });
    });
  const n = QUICK ? 5_000 : 30_000;
  for (let i = 0; i < n / 5; i++) await one();
  const started = performance.now();
  for (let i = 0; i < n; i++) await one();
  const us = ((performance.now() - started) * 1000) / n;
  await handle?.shutdown();
  return us;
}

const dir = mkdtempSync(join(tmpdir(), "mcpo-bench-telemetry-"));
const results = new Map<
  string,
  (Record<string, Figures> & { scrapeMs?: number; scrapeBytes?: number })[]
>();
try {
  // One discarded pass warms the JIT, so the first scenario measured is not the coldest.
  await measure(scenarios[0]!, dir);
  for (let round = 0; round < ROUNDS; round++) {
    for (const scenario of scenarios) {
      const r = await measure(scenario, dir);
      results.set(scenario.name, [...(results.get(scenario.name) ?? []), r]);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// The median round of each scenario (by trimmed mean latency): rounds are interleaved, so
// drift on a busy machine spreads over every scenario instead of landing on one.
const median = (name: string, label: string): Figures => {
  const rounds = results
    .get(name)!
    .map((r) => r[label] as Figures)
    .sort((a, b) => a.trimmedMs - b.trimmedMs);
  return rounds[Math.floor(rounds.length / 2)]!;
};

console.log(
  `telemetry cost per execution: process sandbox, server-everything over stdio, ${RUNS} sequential runs per program after ${WARMUP} warm-up, median of ${ROUNDS} interleaved round(s); node ${process.version}\n`,
);
for (const label of Object.keys(programs)) {
  const base = median(scenarios[0]!.name, label);
  console.log(`program: ${label}`);
  console.log(
    "| scenario | executions/s (wall) | trimmed mean ms | p50 ms | p95 ms | trimmed mean vs off | p50 vs off |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const s of scenarios) {
    const f = median(s.name, label);
    console.log(
      `| ${s.name} | ${f.perSecond.toFixed(0)} | ${f.trimmedMs.toFixed(3)} | ${f.p50.toFixed(3)} | ${f.p95.toFixed(3)} | ${(f.trimmedMs / base.trimmedMs).toFixed(3)} | ${(f.p50 / base.p50).toFixed(3)} |`,
    );
  }
  console.log("");
}
for (const s of scenarios) {
  const r = results.get(s.name)!.at(-1)!;
  if (r.scrapeMs !== undefined) {
    console.log(
      `scrape of /metrics after the runs (${s.name}): ${r.scrapeMs.toFixed(2)} ms, ${r.scrapeBytes} bytes`,
    );
  }
}

const recording: [string, number][] = [];
for (const [name, sdk, metrics, traces] of [
  ["off (enableMetrics false, enableTelemetry false)", "none", false, false],
  ["API no-op (no SDK, metrics and traces on)", "none", true, true],
  ["SDK, metrics only", "metrics", true, false],
  ["SDK, metrics and traces", "traces", true, true],
] as const) {
  recording.push([name, await recordingCost(sdk, metrics, traces)]);
}
console.log("\nrecording alone, one execution with one tool call (no sandbox, no server):");
console.log("| telemetry | µs per execution |");
console.log("| --- | ---: |");
for (const [name, us] of recording) console.log(`| ${name} | ${us.toFixed(2)} |`);
console.log(`\nspans built and exported: ${exportedSpans}`);
