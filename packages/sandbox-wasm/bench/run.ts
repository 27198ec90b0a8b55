/**
 * `pnpm bench`: figures for the wasm sandbox (QuickJS on wasm32-wasi, each guest a WebAssembly
 * instance on a worker thread), printed beside the figures recorded before this design
 * (docs/PERFORMANCE.md and issue #17), beside the previous implementation measured now on the
 * same machine when one is given, and beside core's process sandbox where the goal is a ratio
 * to it. Prints figures and ratios; asserts nothing. Needs `pnpm build` first.
 *
 *   node --expose-gc bench/run.ts                  all figures
 *   BENCH_QUICK=1 node --expose-gc bench/run.ts    fewer iterations
 *   BENCH_BEFORE=/path/to/old/dist/index.js ...    also measure an earlier build of this package
 *   node bench/channel.ts                          the host <-> thread channel alone
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  createProcessSandbox,
  type Sandbox,
  type SandboxHost,
  type SandboxJob,
  type SandboxLimits,
  type SandboxSession,
} from "@mcp-optimizer/core";

const QUICK = process.env.BENCH_QUICK === "1";
const WARM_RUNS = QUICK ? 300 : 1000;
const CALL_RUNS = QUICK ? 30 : 100;
const TOOL_CALLS = QUICK ? 300 : 1000;
const FIRST_RUNS = QUICK ? 3 : 7;
const THROUGHPUT_MS = QUICK ? 1500 : 3000;
const IDLE_COUNTS = QUICK ? [1, 100] : [1, 100, 1000];
/** The previous implementation holds a ~20 MB guest per open session: fewer of them. */
const IDLE_COUNTS_BEFORE = [1, 10];
const PEER_RUNS = QUICK ? 300 : 1000;
/**
 * The wall-clock figures are taken in rounds that alternate between the sandboxes measured,
 * and the median round is reported: on a shared machine the load changes within minutes.
 */
const ROUNDS = QUICK ? 2 : 3;

/** The figures recorded before this design: docs/PERFORMANCE.md (wasm row) and issue #17. */
const RECORDED = {
  trivialP50: 0.55,
  roundTrip: 0.308,
  rate1: 2517,
  rate4: 3405,
  idleMb: 19.1,
  firstMs: 4200,
};

interface Contender {
  name: string;
  /** The module to import in a fresh process for the first-execution figure. */
  entry: string;
  create: (options?: Record<string, unknown>) => Sandbox & { warm?: () => Promise<void> };
}

const limits: SandboxLimits = {
  timeoutMs: 30_000,
  maxMemoryMb: 128,
  maxOutputBytes: 1024 * 1024,
  maxLogBytes: 16 * 1024,
};
const host: SandboxHost = {
  call: async (request) => (request.kind === "tool" ? (request.args as never) : null),
};
let jobs = 0;
const job = (code: string, timeoutMs = limits.timeoutMs): SandboxJob => ({
  id: `bench-${++jobs}`,
  code,
  servers: [{ name: "bench", global: "bench", tools: ["echo"] }],
  state: { n: 0 },
  limits: { ...limits, timeoutMs },
});

const ms = (n: number) => `${n < 1 ? n.toFixed(3) : n.toFixed(1)} ms`;
const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const median = (xs: number[]) =>
  quantile(
    [...xs].sort((a, b) => a - b),
    0.5,
  );
const gc = () => (globalThis as { gc?: () => void }).gc?.();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const loadAverage = () => readFileSync("/proc/loadavg", "utf8").split(" ")[0];

/** Resident memory of this process and of every process it started (runners), bytes. */
function rssWithChildren(): number {
  const statm = (pid: string) =>
    Number(readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[1]) * 4096;
  let total = statm("self");
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === process.pid) {
        total += statm(pid);
      }
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/** CPU time of this process (every thread) and of every process it started, in µs. */
function cpuWithChildren(): number {
  const usage = process.cpuUsage();
  let total = usage.user + usage.system;
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[1]) === process.pid)
        total += (Number(fields[11]) + Number(fields[12])) * 10_000;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/**
 * CPU time per execution, all threads and runner processes: what the machine pays for one,
 * whatever else runs on it (wall-clock figures depend on the load, this much less).
 */
async function cpuPerExecution(
  session: SandboxSession,
  code: string,
  runs: number,
): Promise<number> {
  for (let i = 0; i < 50; i++) await session.execute(job(code), host);
  const before = cpuWithChildren();
  for (let i = 0; i < runs; i++) await session.execute(job(code), host);
  return (cpuWithChildren() - before) / runs / 1000;
}

/** Latencies of `runs` sequential executions of `code` on a warm session, sorted. */
async function latencies(session: SandboxSession, code: string, runs: number): Promise<number[]> {
  for (let i = 0; i < Math.min(50, runs); i++) await session.execute(job(code), host);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await session.execute(job(code), host);
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b);
}

async function toolRoundTrip(session: SandboxSession): Promise<number> {
  const empty: number[] = [];
  const full: number[] = [];
  for (let i = 0; i < 3; i++) {
    let t = performance.now();
    await session.execute(job(`for (let i = 0; i < ${TOOL_CALLS}; i++) {} return 1`), host);
    empty.push(performance.now() - t);
    t = performance.now();
    await session.execute(
      job(`for (let i = 0; i < ${TOOL_CALLS}; i++) await bench.echo({ i }); return 1`),
      host,
    );
    full.push(performance.now() - t);
  }
  return (median(full) - median(empty)) / TOOL_CALLS;
}

async function throughput(sandbox: Sandbox, callers: number): Promise<number> {
  const opened = await Promise.all(Array.from({ length: callers }, () => sandbox.open()));
  for (const s of opened) await s.execute(job("return 1"), host);
  let done = 0;
  const until = performance.now() + THROUGHPUT_MS;
  await Promise.all(
    opened.map(async (s) => {
      while (performance.now() < until) {
        await s.execute(job("state.n++; return state.n"), host);
        done++;
      }
    }),
  );
  await Promise.all(opened.map((s) => s.close()));
  return done / (THROUGHPUT_MS / 1000);
}

/** Per-execution figures of one sandbox. */
async function figures(sandbox: Sandbox) {
  const session = await sandbox.open();
  const trivial = await latencies(session, "state.n++; return state.n", WARM_RUNS);
  const oneCall = await latencies(session, "return (await bench.echo({ i: 1 })).i", WARM_RUNS);
  const fiftyCalls = await latencies(
    session,
    "let n = 0; for (let i = 0; i < 50; i++) n += (await bench.echo({ i })).i; return n",
    CALL_RUNS,
  );
  const roundTrip = await toolRoundTrip(session);
  const cpuTrivial = await cpuPerExecution(session, "state.n++; return state.n", WARM_RUNS);
  const cpuOneCall = await cpuPerExecution(
    session,
    "return (await bench.echo({ i: 1 })).i",
    WARM_RUNS,
  );
  await session.close();
  return {
    cpuTrivial,
    cpuOneCall,
    trivialP50: quantile(trivial, 0.5),
    oneCallP50: quantile(oneCall, 0.5),
    fiftyCallsP50: quantile(fiftyCalls, 0.5),
    roundTrip,
    rate1: await throughput(sandbox, 1),
    rate4: await throughput(sandbox, 4),
  };
}

/**
 * Memory per idle session: N sessions open, each ran once, then idle (past the wasm
 * sandbox's idleTimeoutMs): this process and its runner processes, against before.
 */
async function idleMemory(contender: Contender, count: number): Promise<number> {
  const sandbox = contender.create();
  await sandbox.warm?.();
  const warmSession = await sandbox.open();
  await warmSession.execute(job("return 1"), host);
  await warmSession.close();
  await sleep(2_500);
  gc();
  const base = rssWithChildren();
  const sessions: SandboxSession[] = [];
  for (let i = 0; i < count; i++) {
    const s = await sandbox.open({ sessionId: `idle-${i}` });
    await s.execute(job("state.items = Array.from({ length: 100 }, (_, i) => i); return 1"), host);
    sessions.push(s);
  }
  await sleep(3_500);
  gc();
  await sleep(200);
  const perSession = (rssWithChildren() - base) / count;
  await sandbox.close();
  return perSession;
}

/**
 * A fresh Node process: import, create, open, first execution: ms from create, ms from the
 * process start, and the CPU time from create to the result (all threads; runner processes
 * are not counted, so "before" is understated there).
 */
function firstExecution(contender: Contender): {
  fromCreate: number;
  fromProcessStart: number;
  cpu: number;
} {
  const script = `
    const { createWasmSandbox } = await import(${JSON.stringify(pathToFileURL(contender.entry).href)});
    const t = performance.now();
    const cpu = process.cpuUsage();
    const sandbox = createWasmSandbox();
    const session = await sandbox.open();
    const out = await session.execute(${JSON.stringify(job("return 1"))}, { call: async () => null });
    const done = performance.now();
    if (out.value !== 1) throw new Error("wrong value");
    const used = process.cpuUsage(cpu);
    console.log(JSON.stringify({ fromCreate: done - t, fromProcessStart: done, cpu: (used.user + used.system) / 1000 }));
    await sandbox.close();
  `;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
    encoding: "utf8",
  });
  return JSON.parse(out.trim().split("\n").pop()!);
}

/**
 * A fresh Node process as a host starts: the sandbox created, core's `start()` (its tokenizer
 * loads meanwhile), then `run("return 1")`: ms of the run alone, and of start() to the result.
 */
function firstAfterStart(contender: Contender): { run: number; startToResult: number } {
  const core = import.meta.resolve("@mcp-optimizer/core");
  const script = `
    const { MCPOptimizer } = await import(${JSON.stringify(core)});
    const { createWasmSandbox } = await import(${JSON.stringify(pathToFileURL(contender.entry).href)});
    const t0 = performance.now();
    const optimizer = new MCPOptimizer({ sandbox: createWasmSandbox(), sandboxConfig: { enableMetrics: false } });
    await optimizer.start();
    const t1 = performance.now();
    const out = await optimizer.run("return 1");
    const t2 = performance.now();
    if (out.value !== 1) throw new Error("wrong value: " + JSON.stringify(out));
    console.log(JSON.stringify({ run: t2 - t1, startToResult: t2 - t0 }));
    await optimizer.close();
  `;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
    encoding: "utf8",
  });
  return JSON.parse(out.trim().split("\n").pop()!);
}

/** A peer's 1-call latency while another session spins until its deadline, and with none. */
async function peerLatency(contender: Contender) {
  const sandbox = contender.create();
  await sandbox.warm?.();
  const peer = await sandbox.open({ sessionId: "peer" });
  const spinner = await sandbox.open({ sessionId: "spinner" });
  const measure = async () => {
    const times: number[] = [];
    let failed = 0;
    for (let i = 0; i < PEER_RUNS; i++) {
      const t = performance.now();
      await peer.execute(job("return (await bench.echo({ i: 1 })).i", 5_000), host).catch(() => {
        failed++;
      });
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    return { p99: quantile(times, 0.99), failed };
  };
  await measure(); // warm-up
  const idle = await measure();
  let spinning = true;
  const spin = (async () => {
    while (spinning) await spinner.execute(job("for (;;) {}", 2_000), host).catch(() => {});
  })();
  const busy = await measure();
  spinning = false;
  await spin;
  await sandbox.close();
  return { idleP99: idle.p99, spinningP99: busy.p99, failed: busy.failed };
}

async function contender(name: string, entry: string): Promise<Contender> {
  const mod = (await import(pathToFileURL(entry).href)) as {
    createWasmSandbox: Contender["create"];
  };
  return { name, entry, create: (options) => mod.createWasmSandbox(options) };
}

// The previous implementation can throw from a timer after its engine process is killed; count
// such errors (per contender) instead of ending the benchmark, and print them.
const uncaught: string[] = [];
let measuring = "";
process.on("uncaughtException", (error) => {
  uncaught.push(`${measuring}: ${error instanceof Error ? error.message : String(error)}`);
});

const now = await contender("now", fileURLToPath(new URL("../dist/index.js", import.meta.url)));
const before = process.env.BENCH_BEFORE
  ? await contender("before", process.env.BENCH_BEFORE)
  : undefined;
const wasms = before ? [now, before] : [now];
const loadAtStart = loadAverage();

type Figures = Awaited<ReturnType<typeof figures>>;
const rounds = new Map<string, Figures[]>();
const processContender: Contender = {
  name: "process",
  entry: "",
  create: () => createProcessSandbox(),
};
for (let round = 0; round < ROUNDS; round++) {
  for (const c of [...wasms, processContender]) {
    measuring = c.name;
    const sandbox = c.create();
    await sandbox.warm?.();
    rounds.set(c.name, [...(rounds.get(c.name) ?? []), await figures(sandbox)]);
    await sandbox.close();
  }
}
/** Each figure's median over the rounds. */
const medianFigures = (name: string): Figures => {
  const all = rounds.get(name)!;
  return Object.fromEntries(
    Object.keys(all[0]!).map((key) => [key, median(all.map((f) => f[key as keyof Figures]))]),
  ) as Figures;
};

const results = new Map<string, Record<string, number>>();
for (const c of wasms) {
  measuring = c.name;
  const first = Array.from({ length: FIRST_RUNS }, () => firstExecution(c));
  const afterStart = Array.from({ length: FIRST_RUNS }, () => firstAfterStart(c));
  const f = medianFigures(c.name);
  const idle: Record<string, number> = {};
  for (const count of c === before ? IDLE_COUNTS_BEFORE : IDLE_COUNTS) {
    idle[`idle${count}`] = await idleMemory(c, count);
  }
  const peer = await peerLatency(c);
  results.set(c.name, {
    firstMs: median(first.map((x) => x.fromCreate)),
    firstFromStartMs: median(first.map((x) => x.fromProcessStart)),
    firstCpuMs: median(first.map((x) => x.cpu)),
    firstAfterStartMs: median(afterStart.map((x) => x.run)),
    startToResultMs: median(afterStart.map((x) => x.startToResult)),
    ...f,
    ...idle,
    peerIdleP99: peer.idleP99,
    peerSpinningP99: peer.spinningP99,
    peerFailed: peer.failed,
  });
}
const p = medianFigures("process");

const r = results.get("now")!;
const b = results.get("before");
console.log(
  `wasm sandbox, ${QUICK ? "quick" : "full"} run, Node ${process.version}, load average ${loadAtStart} at the start and ${loadAverage()} at the end (2 cores)`,
);
console.log(
  "figure                                      now   recorded before    ratio" +
    (b ? "   before, measured now   ratio" : ""),
);
const row = (
  name: string,
  key: string,
  recorded: number | undefined,
  unit: "ms" | "/s" | "MB",
  higherIsBetter = false,
) => {
  const fmt = (n: number) =>
    unit === "ms"
      ? ms(n)
      : unit === "MB"
        ? `${(n / 1024 / 1024).toFixed(2)} MB`
        : `${n.toFixed(0)}/s`;
  const verdict = (ratio: number) =>
    (higherIsBetter ? ratio < 0.9 : ratio > 1.1) ? " REGRESSED" : "";
  const show = (n: number | undefined) => (n === undefined ? "-" : fmt(n));
  let line = `${name.padEnd(36)} ${show(r[key]).padStart(11)}`;
  if (recorded === undefined || r[key] === undefined) line += " ".repeat(36);
  else {
    const ratio = r[key]! / (unit === "MB" ? recorded * 1024 * 1024 : recorded);
    line += `${fmt(unit === "MB" ? recorded * 1024 * 1024 : recorded).padStart(18)} ${ratio.toFixed(2).padStart(7)}x${verdict(ratio).padEnd(10)}`;
  }
  if (b) {
    const ratio = r[key] === undefined || b[key] === undefined ? Number.NaN : r[key] / b[key];
    line += `${show(b[key]).padStart(16)} ${Number.isNaN(ratio) ? "" : `${ratio.toFixed(2).padStart(7)}x${verdict(ratio)}`}`;
  }
  console.log(line);
};
row("first execution, create -> result", "firstMs", RECORDED.firstMs, "ms");
row("  same, from the process start", "firstFromStartMs", undefined, "ms");
row("  CPU time it took (this process)", "firstCpuMs", undefined, "ms");
row("first execution after core's start()", "firstAfterStartMs", undefined, "ms");
row("  same, from start() to the result", "startToResultMs", undefined, "ms");
row("warm trivial execution p50", "trivialP50", RECORDED.trivialP50, "ms");
row("1-call program p50", "oneCallP50", undefined, "ms");
row("50-call program p50", "fiftyCallsP50", undefined, "ms");
row("tool round trip", "roundTrip", RECORDED.roundTrip, "ms");
row("CPU per trivial execution", "cpuTrivial", undefined, "ms");
row("CPU per 1-call execution", "cpuOneCall", undefined, "ms");
row("executions/s, 1 caller", "rate1", RECORDED.rate1, "/s", true);
row("executions/s, 4 callers", "rate4", RECORDED.rate4, "/s", true);
for (const count of [...new Set([...IDLE_COUNTS, ...(b ? IDLE_COUNTS_BEFORE : [])])].sort(
  (x, y) => x - y,
)) {
  row(`memory per idle session, ${count}`, `idle${count}`, RECORDED.idleMb, "MB");
}
row("peer 1-call p99, no neighbour", "peerIdleP99", undefined, "ms");
row("peer 1-call p99, a neighbour spins", "peerSpinningP99", undefined, "ms");
console.log(
  `goals: first execution <= 250 ms; idle session <= 1 MB; peer p99 while a neighbour spins <= 2x: ${(r.peerSpinningP99! / r.peerIdleP99!).toFixed(2)}x (${r.peerFailed} of its runs failed)${b ? `; before: ${(b.peerSpinningP99! / b.peerIdleP99!).toFixed(2)}x (${b.peerFailed} failed)` : ""}`,
);
console.log("");
console.log("wasm beside core's process sandbox, measured now (goal: 50 calls <= 1.5x process)");
const side = (name: string, key: keyof typeof p, unit = "ms") =>
  console.log(
    `${name.padEnd(28)} ${(unit === "ms" ? ms(r[key]!) : `${r[key]!.toFixed(0)}/s`).padStart(10)}  ${(unit === "ms" ? ms(p[key]) : `${p[key].toFixed(0)}/s`).padStart(10)}   ${(r[key]! / p[key]).toFixed(2)}x`,
  );
console.log("figure                             wasm     process   wasm/process");
side("trivial execution p50", "trivialP50");
side("1-call program p50", "oneCallP50");
side("50-call program p50", "fiftyCallsP50");
side("tool round trip", "roundTrip");
side("CPU per trivial execution", "cpuTrivial");
side("CPU per 1-call execution", "cpuOneCall");
side("executions/s, 1 caller", "rate1", "/s");
side("executions/s, 4 callers", "rate4", "/s");
console.log("");
console.log(
  uncaught.length === 0
    ? "uncaught errors in this process: none"
    : `uncaught errors in this process (${uncaught.length}):\n  ${[...new Set(uncaught)].join("\n  ")}`,
);
