import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import {
  type BilledTokens,
  billedTokens,
  createO200kTokenizer,
  createProcessSandbox,
  DEFAULT_CACHED_INPUT_RATE,
  MCPOptimizer,
  type MetaToolServer,
  metaToolDefinitions,
  parseSandboxConfig,
  type RunResult,
  type Sandbox,
  searchListingText,
  shapeToBudget,
  type Tokenizer,
  toolDefinitionsText,
  type Upstream,
} from "@mcp-optimizer/core";
import { loadPluginMode } from "../runtime/load-sandbox.js";
import { packageBinCommand, packageVersion } from "../runtime/resolve-package.js";
import { cliVersion } from "../version.js";
import { baselineMetaToolDefinitions, baselineRenderOutcome } from "./baseline.js";
import { containersRss, type Distribution, distribution, treeRssBytes } from "./measure.js";
import { ModeRouterSandbox } from "./mode-router-sandbox.js";
import { RecordingPlainClient } from "./plain-client.js";
import type { BenchmarkScenario, ScenarioContext } from "./scenario.js";
import {
  DEFAULT_MODEL_SPEED,
  type ModelSpeed,
  speedUp,
  type TaskTime,
  taskTime,
} from "./task-time.js";

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
  /** How fast the model is, for the task-time estimate. Default DEFAULT_MODEL_SPEED. */
  modelSpeed?: ModelSpeed;
  /** Memory ceiling and time limit for the sandboxes. Defaults 256 MB, 120000 ms. */
  maxMemoryMb?: number;
  maxExecutionTime?: number;
}

/** Hits a model asks `search_tools` for when it looks for one thing (a scenario's discovery). */
const DISCOVERY_LIMIT = 5;

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
    /** A search before the program (`discovery`): its request and listing, in `tokens`. */
    discoveryTokens?: number;
    /** How the result was written for the model (compact JSON, TOON or plain text). */
    resultEncoding?: string;
    toolCalls: number;
    roundTrips: number;
  };
  /**
   * Code mode as it was before the token work (the frozen baseline in baseline.ts): the old
   * meta-tool definitions, the same program, its result rendered the old way.
   */
  codeModeBefore: {
    tokens: number;
    metaToolTokens: number;
    programTokens: number;
    resultTokens: number;
  };
  /** How many fewer code-mode tokens than before (single pass), in percent. */
  codeModeCutPct: number;
  /** Core's own estimate of plain MCP for the program's calls (a cross-check). */
  coreEstimatePlainMcp: number;
  /** The headline: single-pass reduction against plain MCP, in percent. */
  reductionPct: number;
  /**
   * Both paths counted as a model API bills them: once (the headline), cumulatively over the
   * round trips, and cumulatively with a prompt cache (the re-read prefix at the cache rate).
   */
  billed: {
    cachedInputRate: number;
    plain: BilledTokens;
    codeMode: BilledTokens;
    codeModeBefore: BilledTokens;
    reductionPct: { singlePass: number; cumulative: number; cumulativeCached: number };
  };
  /**
   * When offering the typed API inline pays: a conversation where the model first searches
   * (a real mcp.search for the first tool the program calls) against one with the API inline.
   */
  inlineApi?: {
    apiTokens: number;
    withSearch: BilledTokens;
    inline: BilledTokens;
    pays: boolean;
  };
  /** Wall time of one code-mode execution (compile + sandbox + tool calls) per sandbox. */
  wallTime: Record<string, Distribution>;
  /**
   * End to end: the model's round trips priced by the speed model (BenchmarkReport.modelSpeed)
   * plus the measured work: plain MCP's tool calls turn by turn, code mode's execution on `mode`
   * (the mean of its timed runs).
   */
  taskTime?: { mode: string; plain: TaskTime; codeMode: TaskTime; speedUp: number };
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

/** The meta-tool definitions' tokens for a number of connected servers, before and now. */
export interface FixedCostReport {
  servers: number;
  before: number;
  now: number;
}

export interface BenchmarkReport {
  version: string;
  startedAt: string;
  durationMs: number;
  environment: { node: string; platform: string; arch: string; cpus: number; cpuModel: string };
  tokenizer: string;
  /** The speed model the task times were priced with. */
  modelSpeed: ModelSpeed;
  quick: boolean;
  iterations: number;
  sandboxes: SandboxReport[];
  scenarios: ScenarioReport[];
  /** The meta-tool definitions for 1, 5 and 50 servers (synthetic catalogs, see fixedCosts). */
  fixedCost: FixedCostReport[];
  skipped: { id: string; reason: string }[];
  servers: Record<string, string | undefined>;
}

const SERVER_PACKAGES = [
  "@modelcontextprotocol/server-filesystem",
  "@modelcontextprotocol/server-memory",
  "@modelcontextprotocol/server-everything",
  "@sentry/mcp-server",
  "@bytebase/dbhub",
];

/** The result budget of the benchmark's optimizers (core's default), used by the baseline too. */
const MAX_RESULT_TOKENS = 8000;

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
  const modelSpeed = options.modelSpeed ?? DEFAULT_MODEL_SPEED;

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
          modelSpeed,
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
    modelSpeed,
    quick,
    iterations,
    sandboxes: sandboxReports,
    scenarios: scenarioReports,
    fixedCost: fixedCosts(tokenizer),
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
  modelSpeed: ModelSpeed;
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
    codeModeBefore: { tokens: 0, metaToolTokens: 0, programTokens: 0, resultTokens: 0 },
    codeModeCutPct: 0,
    coreEstimatePlainMcp: 0,
    reductionPct: 0,
    billed: {
      cachedInputRate: DEFAULT_CACHED_INPUT_RATE,
      plain: emptyBilled(),
      codeMode: emptyBilled(),
      codeModeBefore: emptyBilled(),
      reductionPct: { singlePass: 0, cumulative: 0, cumulativeCached: 0 },
    },
    wallTime: {},
  };
  try {
    run.progress(`starting ${report.servers.length} server(s)`);
    await optimizer.start();
    await prepared.setup?.(optimizer);
    const discovery = prepared.discovery
      ? await discover(
          optimizer,
          prepared.discovery,
          `${run.modes[0]}:${scenario.id}:discovery`,
          run,
        )
      : undefined;
    const tools = optimizer.catalog.listTools();
    report.tools = tools.length;
    const definitionTokens = run.tokenizer.count(toolDefinitionsText(tools.map((t) => t.tool)));
    const meta = await optimizer.metaToolDefinitions();
    const servers = optimizer.catalog.visibleServers();
    const metaBefore = run.tokenizer.count(
      JSON.stringify(baselineMetaToolDefinitions(servers, { maxResultTokens: MAX_RESULT_TOKENS })),
    );

    let verified = false;
    let checked: RunResult | undefined;
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
            const discoveryTokens = discovery ? discovery.output + discovery.results : 0;
            report.codeMode = {
              tokens: result.tokens.used + discoveryTokens,
              metaToolTokens: meta.tokens,
              programTokens,
              resultTokens: result.tokens.used - meta.tokens - programTokens,
              ...(discovery ? { discoveryTokens } : {}),
              ...(result.encoding ? { resultEncoding: result.encoding } : {}),
              toolCalls: result.toolCalls.length,
              roundTrips: (prepared.codeModeRoundTrips ?? 1) + (discovery ? 1 : 0) + 1,
            };
            // The same program's result as the model read it before: pretty JSON, same budget.
            const resultBefore = shapeToBudget(
              baselineRenderOutcome(result.value, result.logs, false),
              run.tokenizer,
              MAX_RESULT_TOKENS,
            ).tokens;
            const programBefore = prepared.programBefore
              ? run.tokenizer.count(prepared.programBefore)
              : programTokens;
            report.codeModeBefore = {
              tokens: metaBefore + programBefore + resultBefore,
              metaToolTokens: metaBefore,
              programTokens: programBefore,
              resultTokens: resultBefore,
            };
            report.codeModeCutPct = percentLess(
              report.codeModeBefore.tokens,
              report.codeMode.tokens,
            );
            report.coreEstimatePlainMcp = result.tokens.plainMcp;
            checked = result;
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
    report.reductionPct = percentLess(report.plain.tokens, report.codeMode.tokens);

    // As billed: each round trip reads the whole context again (with and without a cache).
    const rate = DEFAULT_CACHED_INPUT_RATE;
    const discoverySteps = discovery ? [discovery] : [];
    const codeSteps = (resultTokens: number) => [
      ...discoverySteps,
      { output: report.codeMode.programTokens, results: resultTokens },
    ];
    const plain = billedTokens({ definitions: definitionTokens, steps: client.steps }, rate);
    const code = billedTokens(
      { definitions: meta.tokens, steps: codeSteps(report.codeMode.resultTokens) },
      rate,
    );
    const before = billedTokens(
      {
        definitions: report.codeModeBefore.metaToolTokens,
        steps: [
          {
            output: report.codeModeBefore.programTokens,
            results: report.codeModeBefore.resultTokens,
          },
        ],
      },
      rate,
    );
    report.billed = {
      cachedInputRate: rate,
      plain,
      codeMode: code,
      codeModeBefore: before,
      reductionPct: {
        singlePass: percentLess(plain.singlePass, code.singlePass),
        cumulative: percentLess(plain.cumulative, code.cumulative),
        cumulativeCached: percentLess(plain.cumulativeCached, code.cumulativeCached),
      },
    };
    const mode = run.modes[0];
    const ran = mode ? report.wallTime[mode] : undefined;
    if (mode && ran) {
      const plainTime = taskTime(
        { definitions: definitionTokens, steps: client.steps },
        client.stepMs,
        run.modelSpeed,
      );
      const codeTime = taskTime(
        { definitions: meta.tokens, steps: codeSteps(report.codeMode.resultTokens) },
        [...discoverySteps.map((d) => d.ms), ran.meanMs],
        run.modelSpeed,
      );
      report.taskTime = {
        mode,
        plain: plainTime,
        codeMode: codeTime,
        speedUp: speedUp(plainTime.totalMs, codeTime.totalMs),
      };
    }
    if (checked) report.inlineApi = await inlineApiReport(optimizer, report, checked, run);
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

function emptyBilled(): BilledTokens {
  return { singlePass: 0, cumulative: 0, cumulativeCached: 0, roundTrips: 0 };
}

/** How many percent fewer `now` is than `before`, floored to a tenth (never overstated). */
function percentLess(before: number, now: number): number {
  return before > 0 ? Math.floor((1 - now / before) * 1000) / 10 : 0;
}

/**
 * The scenario's search before its program, as the model makes it: a `search_tools` call
 * (its arguments written, its listing read as the server renders it), and its time. The
 * listing must show what the scenario's program then calls.
 */
async function discover(
  optimizer: MCPOptimizer,
  discovery: { query: string; expect: string },
  sessionId: string,
  run: ScenarioRun,
): Promise<{ output: number; results: number; ms: number }> {
  const args = { query: discovery.query, limit: DISCOVERY_LIMIT };
  const started = performance.now();
  const hits = await optimizer.search(args.query, { limit: args.limit, sessionId });
  const listing = await searchListingText(optimizer, hits);
  const ms = performance.now() - started;
  if (!listing.includes(discovery.expect)) {
    throw new Error(
      `discovery: searching ${JSON.stringify(discovery.query)} does not list ${discovery.expect}: ${listing.slice(0, 300)}`,
    );
  }
  return {
    output: run.tokenizer.count(JSON.stringify({ name: "search_tools", arguments: args })),
    results: run.tokenizer.count(listing),
    ms,
  };
}

/**
 * Discovery, two ways: the model first searches for the first tool the program calls (a real
 * mcp.search through the optimizer, its result as the model reads it) and then runs the
 * program; or the typed API is inline in execute_code and it runs the program at once.
 */
async function inlineApiReport(
  optimizer: MCPOptimizer,
  report: ScenarioReport,
  result: RunResult,
  run: ScenarioRun,
): Promise<ScenarioReport["inlineApi"]> {
  const first = result.toolCalls[0];
  if (!first) return undefined;
  const servers = optimizer.catalog.visibleServers();
  const api = servers.flatMap((s) => s.tools.map((t) => optimizer.catalog.signature(t))).join("\n");
  const count = (text: string) => run.tokenizer.count(text);
  const inlineDefinitions = count(
    JSON.stringify(
      metaToolDefinitions(servers, { maxResultTokens: MAX_RESULT_TOKENS, count, inlineApi: api }),
    ),
  );
  const searchProgram = `return await mcp.search(${JSON.stringify(first.tool.replace(/[_-]+/g, " "))});`;
  const search = await optimizer.run(searchProgram, {
    sessionId: `${run.modes[0]}:${report.id}:search`,
    actor: "benchmark",
  });
  const rate = DEFAULT_CACHED_INPUT_RATE;
  const work = { output: report.codeMode.programTokens, results: report.codeMode.resultTokens };
  const withSearch = billedTokens(
    {
      definitions: report.codeMode.metaToolTokens,
      steps: [{ output: count(searchProgram), results: count(search.text) }, work],
    },
    rate,
  );
  const inline = billedTokens({ definitions: inlineDefinitions, steps: [work] }, rate);
  return {
    apiTokens: inlineDefinitions - report.codeMode.metaToolTokens,
    withSearch,
    inline,
    pays: inline.cumulative < withSearch.cumulative,
  };
}

/** Realistic server names for the fixed-cost table; descriptions of ~80 characters. */
const SERVER_NAMES =
  "github slack jira filesystem memory sentry postgres linear notion google_drive gmail calendar stripe shopify hubspot zendesk intercom figma confluence datadog pagerduty grafana kubernetes docker aws_docs cloud_run azure_devops vercel netlify cloudflare twilio sendgrid mailchimp salesforce airtable asana trello monday clickup discord teams zoom dropbox box okta auth0 snowflake bigquery redis mongodb".split(
    " ",
  );

/**
 * The meta-tool definitions for 1, 5 and 50 connected servers, before (the frozen baseline) and
 * now. Synthetic catalogs: real-world server names, an ~80-character description each, 5 to 40
 * tools; the definitions name servers and tool counts, never tools, so that is all they need.
 */
export function fixedCosts(tokenizer: Tokenizer): FixedCostReport[] {
  const count = (text: string) => tokenizer.count(text);
  return [1, 5, 50].map((n) => {
    const servers: MetaToolServer[] = SERVER_NAMES.slice(0, n).map((name, i) => ({
      name,
      identifier: name,
      description: `${name} MCP server: search, read and update ${name} records for the current workspace`,
      tools: Array.from({ length: 5 + ((i * 7) % 36) }, (_, j) => ({ identifier: `tool_${j}` })),
    }));
    return {
      servers: n,
      before: count(
        JSON.stringify(
          baselineMetaToolDefinitions(servers, { maxResultTokens: MAX_RESULT_TOKENS }),
        ),
      ),
      now: count(
        JSON.stringify(metaToolDefinitions(servers, { maxResultTokens: MAX_RESULT_TOKENS, count })),
      ),
    };
  });
}
