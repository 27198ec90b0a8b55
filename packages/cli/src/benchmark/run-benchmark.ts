import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import {
  createO200kTokenizer,
  createProcessSandbox,
  MCPOptimizer,
  parseSandboxConfig,
  type Sandbox,
  type Tokenizer,
  toolDefinitionsText,
  type Upstream,
} from "@mcp-optimizer/core";
import { loadPluginMode } from "../runtime/load-sandbox.js";
import { packageBinCommand, packageVersion } from "../runtime/resolve-package.js";
import { cliVersion } from "../version.js";
import { containersRss, type Distribution, distribution, treeRssBytes } from "./measure.js";
import { ModeRouterSandbox } from "./mode-router-sandbox.js";
import { RecordingPlainClient } from "./plain-client.js";
import type { BenchmarkScenario, ScenarioContext } from "./scenario.js";

export interface BenchmarkOptions {
  /** The scenarios to run. */
  scenarios: BenchmarkScenario[];
  /** Sandbox modes to time; unavailable ones are reported and left out. Default ["process"]. */
  sandboxes?: string[];
  /** Smaller fixtures and shorter phases. Default false. */
  quick?: boolean;
  /** Timed runs of each program per sandbox (after one warm-up). Default 5 (quick: 2). */
  iterations?: number;
  /** Seconds of the throughput phase per sandbox; 0 leaves it out. Default 3 (quick: 1). */
  throughputSeconds?: number;
  /** Sessions opened for the memory measurement per sandbox; 0 leaves it out. Default 8 (quick: 3). */
  memorySessions?: number;
  /** Default process.env. */
  env?: Record<string, string | undefined>;
  /** Progress lines (stderr). */
  progress?: (message: string) => void;
  /** Transient status (run i of n), for a live line on a terminal. Default: none. */
  tick?: (message: string) => void;
  /** Memory ceiling and time limit for the sandboxes. Defaults 256 MB, 120000 ms. */
  maxMemoryMb?: number;
  maxExecutionTime?: number;
}

export interface ScenarioReport {
  id: string;
  title: string;
  description: string;
  servers: string[];
  tools: number;
  plain: {
    tokens: number;
    definitionTokens: number;
    callTokens: number;
    toolCalls: number;
    roundTrips: number;
  };
  codeMode: {
    tokens: number;
    metaToolTokens: number;
    programTokens: number;
    resultTokens: number;
    toolCalls: number;
    roundTrips: number;
  };
  /** Core's own estimate of plain MCP for the program's calls (a cross-check). */
  coreEstimatePlainMcp: number;
  reductionPct: number;
  /** Wall time of one code-mode execution (compile + sandbox + tool calls) per sandbox. */
  wallTime: Record<string, Distribution>;
  error?: string;
}

export interface SandboxReport {
  mode: string;
  available: boolean;
  reason?: string;
  /** Sequential trivial executions in one warm session. */
  latency?: Distribution;
  /** Concurrent trivial executions over several sessions. */
  throughput?: { executions: number; seconds: number; perSecond: number; concurrency: number };
  /** Resident memory added per open session (host + sandbox processes). */
  memory?: { sessions: number; perSessionMb: number; note?: string };
}

export interface BenchmarkReport {
  version: string;
  startedAt: string;
  durationMs: number;
  environment: { node: string; platform: string; arch: string; cpus: number; cpuModel: string };
  tokenizer: string;
  quick: boolean;
  iterations: number;
  sandboxes: SandboxReport[];
  scenarios: ScenarioReport[];
  skipped: { id: string; reason: string }[];
  servers: Record<string, string | undefined>;
}

const SERVER_PACKAGES = [
  "@modelcontextprotocol/server-filesystem",
  "@modelcontextprotocol/server-memory",
  "@modelcontextprotocol/server-everything",
  "@sentry/mcp-server",
];

/** Runs the scenarios and the per-sandbox phases; never throws for one failing scenario. */
export async function runBenchmark(options: BenchmarkOptions): Promise<BenchmarkReport> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const quick = options.quick ?? false;
  const iterations = options.iterations ?? (quick ? 2 : 5);
  const progress = options.progress ?? (() => {});
  const env = options.env ?? process.env;
  const config = parseSandboxConfig({
    mode: "process",
    maxMemoryMb: options.maxMemoryMb ?? 256,
    maxExecutionTime: options.maxExecutionTime ?? 120_000,
  });
  const tokenizer = await createO200kTokenizer();

  const sandboxReports: SandboxReport[] = [];
  const sandboxes = new Map<string, Sandbox>();
  for (const mode of options.sandboxes ?? ["process"]) {
    try {
      const sandbox =
        mode === "process"
          ? createProcessSandbox({ maxMemoryMb: config.maxMemoryMb })
          : await loadPluginMode(mode, { ...config, mode: mode as typeof config.mode });
      sandboxes.set(mode, sandbox);
      sandboxReports.push({ mode, available: true });
    } catch (error) {
      const reason = (error as Error).message;
      progress(`sandbox ${mode}: not available, left out (${reason})`);
      sandboxReports.push({ mode, available: false, reason });
    }
  }
  const router = new ModeRouterSandbox(sandboxes);
  const scenarioReports: ScenarioReport[] = [];
  const skipped: { id: string; reason: string }[] = [];

  try {
    for (const [index, scenario] of options.scenarios.entries()) {
      const label = `[${index + 1}/${options.scenarios.length}] ${scenario.id}`;
      const workDir = mkdtempSync(join(tmpdir(), `mcpo-bench-${scenario.id}-`));
      const context: ScenarioContext = {
        workDir,
        quick,
        env,
        serverCommand: packageBinCommand,
        progress,
      };
      try {
        const reason = await scenario.unavailable?.(context);
        if (reason) {
          progress(`${label}: skipped: ${reason}`);
          skipped.push({ id: scenario.id, reason });
          continue;
        }
        progress(`${label}: preparing`);
        const report = await runScenario(scenario, context, {
          router,
          modes: [...sandboxes.keys()],
          iterations,
          tokenizer,
          config,
          progress: (m) => progress(`${label}: ${m}`),
          tick: (m) => options.tick?.(`${label}: ${m}`),
        });
        scenarioReports.push(report);
        const times = Object.entries(report.wallTime)
          .map(([mode, d]) => `${mode} ${d.meanMs} ms`)
          .join(", ");
        progress(
          report.error
            ? `${label}: FAILED: ${report.error}`
            : `${label}: ${report.plain.tokens} -> ${report.codeMode.tokens} tokens (${report.reductionPct}% less), ${report.plain.roundTrips} -> ${report.codeMode.roundTrips} round trips; ${times}`,
        );
      } finally {
        rmSync(workDir, { recursive: true, force: true });
      }
    }

    for (const report of sandboxReports) {
      const sandbox = sandboxes.get(report.mode);
      if (!sandbox) continue;
      progress(`sandbox ${report.mode}: latency, throughput and memory`);
      Object.assign(
        report,
        await measureSandbox(report.mode, router, config, {
          seconds: options.throughputSeconds ?? (quick ? 1 : 3),
          memorySessions: options.memorySessions ?? (quick ? 3 : 8),
        }),
      );
    }
  } finally {
    await Promise.allSettled([...sandboxes.values()].map((s) => s.close()));
  }

  return {
    version: cliVersion(),
    startedAt,
    durationMs: Math.round(performance.now() - started),
    environment: {
      node: process.version,
      platform: process.platform,
      arch: process.arch,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? "unknown",
    },
    tokenizer: tokenizer.name,
    quick,
    iterations,
    sandboxes: sandboxReports,
    scenarios: scenarioReports,
    skipped,
    servers: Object.fromEntries(SERVER_PACKAGES.map((p) => [p, packageVersion(p)])),
  };
}

interface ScenarioRun {
  router: ModeRouterSandbox;
  modes: string[];
  iterations: number;
  tokenizer: Tokenizer;
  config: ReturnType<typeof parseSandboxConfig>;
  progress: (message: string) => void;
  tick: (message: string) => void;
}

async function runScenario(
  scenario: BenchmarkScenario,
  context: ScenarioContext,
  run: ScenarioRun,
): Promise<ScenarioReport> {
  const prepared = await scenario.prepare(context);
  const optimizer = new MCPOptimizer({
    sandbox: run.router,
    mcpServers: prepared.mcpServers,
    tokenizer: run.tokenizer,
    requireUpstreams: true,
    sandboxConfig: {
      mode: "process",
      maxMemoryMb: run.config.maxMemoryMb,
      maxExecutionTime: run.config.maxExecutionTime,
      enableMetrics: false,
    },
    maxSandboxSessions: 256,
  });
  const report: ScenarioReport = {
    id: scenario.id,
    title: scenario.title,
    description: scenario.description,
    servers: Object.keys(prepared.mcpServers),
    tools: 0,
    plain: { tokens: 0, definitionTokens: 0, callTokens: 0, toolCalls: 0, roundTrips: 0 },
    codeMode: {
      tokens: 0,
      metaToolTokens: 0,
      programTokens: 0,
      resultTokens: 0,
      toolCalls: 0,
      roundTrips: 0,
    },
    coreEstimatePlainMcp: 0,
    reductionPct: 0,
    wallTime: {},
  };
  try {
    run.progress(`starting ${report.servers.length} server(s)`);
    await optimizer.start();
    const tools = optimizer.catalog.listTools();
    report.tools = tools.length;
    const definitionTokens = run.tokenizer.count(toolDefinitionsText(tools.map((t) => t.tool)));
    const meta = await optimizer.metaToolDefinitions();

    let verified = false;
    for (const mode of run.modes) {
      const sessionId = `${mode}:${scenario.id}`;
      const samples: number[] = [];
      for (let i = 0; i <= run.iterations; i++) {
        run.tick(i === 0 ? `${mode}: warm-up and check` : `${mode}: run ${i}/${run.iterations}`);
        const t0 = performance.now();
        const result = await optimizer.run(prepared.program, { sessionId, actor: "benchmark" });
        const elapsed = performance.now() - t0;
        if (i === 0) {
          // The warm-up run opens the runner; it is checked and not timed.
          await prepared.verify?.(result.value);
          if (!verified) {
            verified = true;
            const programTokens = run.tokenizer.count(prepared.program);
            report.codeMode = {
              tokens: result.tokens.used,
              metaToolTokens: meta.tokens,
              programTokens,
              resultTokens: result.tokens.used - meta.tokens - programTokens,
              toolCalls: result.toolCalls.length,
              roundTrips: (prepared.codeModeRoundTrips ?? 1) + 1,
            };
            report.coreEstimatePlainMcp = result.tokens.plainMcp;
          }
        } else samples.push(elapsed);
      }
      report.wallTime[mode] = distribution(samples);
      run.progress(`${mode}: mean ${report.wallTime[mode]!.meanMs} ms over ${samples.length} runs`);
    }

    run.progress("plain MCP path");
    const upstreams = new Map<string, Upstream>(optimizer.listUpstreams().map((u) => [u.name, u]));
    const client = new RecordingPlainClient(upstreams, run.tokenizer);
    await prepared.plain(client);
    report.plain = {
      tokens: definitionTokens + client.callTokens,
      definitionTokens,
      callTokens: client.callTokens,
      toolCalls: client.calls,
      roundTrips: client.turns + 1,
    };
    report.reductionPct =
      report.plain.tokens > 0
        ? Math.round((1 - report.codeMode.tokens / report.plain.tokens) * 1000) / 10
        : 0;
  } catch (error) {
    report.error = (error as Error).message;
  } finally {
    await optimizer.close();
    await prepared.cleanup?.().catch(() => {});
  }
  return report;
}

async function measureSandbox(
  mode: string,
  router: ModeRouterSandbox,
  config: ReturnType<typeof parseSandboxConfig>,
  phases: { seconds: number; memorySessions: number },
): Promise<Partial<SandboxReport>> {
  const optimizer = new MCPOptimizer({
    sandbox: router,
    sandboxConfig: { mode: "process", maxMemoryMb: config.maxMemoryMb, enableMetrics: false },
    maxSandboxSessions: 256,
  });
  const program = "state.n = (state.n ?? 0) + 1; return state.n;";
  const out: Partial<SandboxReport> = {};
  try {
    await optimizer.start();
    if (phases.seconds > 0) {
      // Latency: one warm session, one execution after another.
      const latencySession = `${mode}:latency`;
      await optimizer.run(program, { sessionId: latencySession });
      const samples: number[] = [];
      const until = performance.now() + phases.seconds * 1000;
      while (performance.now() < until) {
        const t0 = performance.now();
        await optimizer.run(program, { sessionId: latencySession });
        samples.push(performance.now() - t0);
      }
      out.latency = distribution(samples);
      out.latency.samplesMs = out.latency.samplesMs.slice(0, 2000);

      // Throughput: several warm sessions at once.
      const concurrency = Math.max(2, Math.min(8, cpus().length * 2));
      const ids = Array.from({ length: concurrency }, (_, i) => `${mode}:throughput-${i}`);
      await Promise.all(ids.map((id) => optimizer.run(program, { sessionId: id })));
      let executions = 0;
      const t0 = performance.now();
      const stop = t0 + phases.seconds * 1000;
      await Promise.all(
        ids.map(async (id) => {
          while (performance.now() < stop) {
            await optimizer.run(program, { sessionId: id });
            executions++;
          }
        }),
      );
      const seconds = (performance.now() - t0) / 1000;
      out.throughput = {
        executions,
        seconds: Math.round(seconds * 100) / 100,
        perSecond: Math.round(executions / seconds),
        concurrency,
      };
    }
    if (phases.memorySessions > 0) {
      // Memory: resident size added by N more open sessions, each having run a program.
      const before = treeRssBytes();
      await Promise.all(
        Array.from({ length: phases.memorySessions }, (_, i) =>
          optimizer.run(program, { sessionId: `${mode}:memory-${i}` }),
        ),
      );
      await new Promise((r) => setTimeout(r, 200));
      const hostPerSession = (treeRssBytes() - before) / phases.memorySessions;
      // Containers are not this process's children: a session's share is its container's
      // resident memory (read from its cgroup) plus what the host side added.
      const containers = mode === "docker" || mode === "gvisor" ? await containersRss() : undefined;
      const perSession = containers
        ? containers.bytes / containers.count + Math.max(0, hostPerSession)
        : hostPerSession;
      out.memory = {
        sessions: phases.memorySessions,
        perSessionMb: Math.round((perSession / 1024 / 1024) * 10) / 10,
        ...((mode === "docker" || mode === "gvisor") && !containers
          ? { note: "container memory not readable here (remote engine?): host side only" }
          : {}),
      };
    }
  } finally {
    await optimizer.close();
  }
  return out;
}
