/**
 * `pnpm bench`: figures for the wasm sandbox (QuickJS on wasm32-wasi, each guest a WebAssembly
 * instance on a worker thread), printed beside the figures recorded before this design
 * (docs/PERFORMANCE.md) and beside core's process sandbox where the goal is a ratio to it.
 * Prints figures and ratios; asserts nothing. Needs `pnpm build` first (the engine and dist/).
 *
 *   node --expose-gc bench/run.ts                  all figures
 *   BENCH_QUICK=1 node --expose-gc bench/run.ts    fewer iterations
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  createProcessSandbox,
  type Sandbox,
  type SandboxHost,
  type SandboxJob,
  type SandboxLimits,
  type SandboxSession,
} from "@mcp-optimizer/core";
import { createWasmSandbox } from "../dist/index.js";

const QUICK = process.env.BENCH_QUICK === "1";
const WARM_RUNS = QUICK ? 300 : 2000;
const CALL_RUNS = QUICK ? 30 : 200;
const TOOL_CALLS = QUICK ? 300 : 2000;
const FIRST_RUNS = QUICK ? 3 : 7;
const THROUGHPUT_MS = QUICK ? 1500 : 3000;
const IDLE_COUNTS = QUICK ? [1, 100] : [1, 100, 1000];
const PEER_RUNS = QUICK ? 300 : 1000;

/** The figures recorded before this design: docs/PERFORMANCE.md and the issues (#16, #17). */
const BEFORE = {
  warmP50Ms: 0.55,
  roundTripMs: 0.308,
  execPerSec1: 2517,
  execPerSec4: 3405,
  idlePerSessionMb: 19.1,
  firstExecMs: 4200,
  fiftyCallsMs: "96-133 (process 28-36)",
};

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

/** Resident memory of this process (guests are threads of it), bytes. */
function rss(): number {
  return Number(readFileSync("/proc/self/statm", "utf8").split(" ")[1]) * 4096;
}

/** Latencies of `runs` sequential executions of `code` on a warm session. */
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
  await session.close();
  return {
    trivialP50: quantile(trivial, 0.5),
    trivialP95: quantile(trivial, 0.95),
    oneCallP50: quantile(oneCall, 0.5),
    fiftyCallsP50: quantile(fiftyCalls, 0.5),
    roundTrip,
    rate1: await throughput(sandbox, 1),
    rate4: await throughput(sandbox, 4),
  };
}

/** Host memory per idle session: N sessions open, each ran once, all idle past idleTimeoutMs. */
async function idleMemory(count: number): Promise<{ perSession: number; active: number }> {
  const sandbox = createWasmSandbox();
  await sandbox.warm();
  const warmSession = await sandbox.open();
  await warmSession.execute(job("return 1"), host);
  await warmSession.close();
  await sleep(sandbox.settings.idleTimeoutMs + 500);
  gc();
  const base = rss();
  const sessions: SandboxSession[] = [];
  for (let i = 0; i < count; i++) {
    const s = await sandbox.open({ sessionId: `idle-${i}` });
    await s.execute(job("state.items = Array.from({ length: 100 }, (_, i) => i); return 1"), host);
    sessions.push(s);
  }
  const active = sandbox.liveThreads();
  await sleep(sandbox.settings.idleTimeoutMs + 1500);
  gc();
  await sleep(200);
  const perSession = (rss() - base) / count;
  await sandbox.close();
  return { perSession, active };
}

/** A fresh Node process: import, create, open, first execution. */
function firstExecution(): { fromCreate: number; fromProcessStart: number } {
  const entry = fileURLToPath(new URL("../dist/index.js", import.meta.url));
  const script = `
    const { createWasmSandbox } = await import(${JSON.stringify(entry)});
    const t = performance.now();
    const sandbox = createWasmSandbox();
    const session = await sandbox.open();
    const out = await session.execute(${JSON.stringify(job("return 1"))}, { call: async () => null });
    const done = performance.now();
    if (out.value !== 1) throw new Error("wrong value");
    console.log(JSON.stringify({ fromCreate: done - t, fromProcessStart: done }));
    await sandbox.close();
  `;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
    encoding: "utf8",
  });
  return JSON.parse(out.trim().split("\n").pop()!);
}

/** A peer's latency while another session spins until its deadline, against no spinner. */
async function peerLatency(): Promise<{ idleP99: number; spinningP99: number; failed: number }> {
  const sandbox = createWasmSandbox();
  await sandbox.warm();
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
  return { idleP99: idle.p99, spinningP99: busy.p99, failed: idle.failed + busy.failed };
}

const compare = (
  name: string,
  now: number,
  before: number,
  unit: string,
  higherIsBetter = false,
) => {
  const ratio = now / before;
  const regressed = higherIsBetter ? ratio < 0.9 : ratio > 1.1;
  const fmt = (n: number) =>
    unit === "ms" ? ms(n) : unit === "MB" ? `${n.toFixed(2)} MB` : `${n.toFixed(0)}/s`;
  console.log(
    `${name.padEnd(44)} ${fmt(now).padStart(12)}   before ${fmt(before).padStart(12)}   ${ratio.toFixed(2)}x${regressed ? "   REGRESSED > 10%" : ""}`,
  );
};

const first = Array.from({ length: FIRST_RUNS }, firstExecution);
const wasm = createWasmSandbox();
await wasm.warm();
const w = await figures(wasm);
const caps = await wasm.capabilities();
await wasm.close();
const processSandbox = createProcessSandbox();
const p = await figures(processSandbox);
await processSandbox.close();
const idle = [];
for (const count of IDLE_COUNTS) idle.push({ count, ...(await idleMemory(count)) });
const peer = await peerLatency();

console.log(`wasm sandbox: ${caps.details.engine}; ${caps.details.runtime}`);
console.log(
  `engine module: ${Math.round(Number(caps.details.wasmBytes) / 1024)} KB; Node ${process.version}; ${QUICK ? "quick" : "full"} run`,
);
console.log("");
console.log(
  "figure                                              now      before (docs, issues)   ratio",
);
compare(
  "first execution after process start (create → result)",
  median(first.map((f) => f.fromCreate)),
  BEFORE.firstExecMs,
  "ms",
);
console.log(
  `  (from the Node process's start, imports included: ${ms(median(first.map((f) => f.fromProcessStart)))}; goal <= 250 ms from create)`,
);
compare("warm trivial execution p50", w.trivialP50, BEFORE.warmP50Ms, "ms");
compare("tool round trip", w.roundTrip, BEFORE.roundTripMs, "ms");
compare("executions/s, 1 caller", w.rate1, BEFORE.execPerSec1, "/s", true);
compare("executions/s, 4 callers", w.rate4, BEFORE.execPerSec4, "/s", true);
for (const i of idle) {
  compare(
    `memory per idle session, ${i.count} session${i.count > 1 ? "s" : ""}`,
    i.perSession / 1024 / 1024,
    BEFORE.idlePerSessionMb,
    "MB",
  );
}
console.log(
  `  (goal <= 1 MB; guests held right after the executions, before they were given back: ${idle.map((i) => i.active).join(", ")})`,
);
console.log("");
console.log("wasm beside core's process sandbox (goal: wasm <= 1.5x process for 50 calls)");
console.log("figure                         wasm        process     wasm/process");
const side = (name: string, a: number, b: number, unit = "ms") =>
  console.log(
    `${name.padEnd(28)} ${(unit === "ms" ? ms(a) : `${a.toFixed(0)}/s`).padStart(10)}  ${(unit === "ms" ? ms(b) : `${b.toFixed(0)}/s`).padStart(10)}   ${(a / b).toFixed(2)}x`,
  );
side("trivial execution p50", w.trivialP50, p.trivialP50);
side("1-call program p50", w.oneCallP50, p.oneCallP50);
side("50-call program p50", w.fiftyCallsP50, p.fiftyCallsP50);
side("tool round trip", w.roundTrip, p.roundTrip);
side("executions/s, 1 caller", w.rate1, p.rate1, "/s");
side("executions/s, 4 callers", w.rate4, p.rate4, "/s");
console.log(`  (before: 50 sequential tool calls ${BEFORE.fiftyCallsMs} ms, from issue #17)`);
console.log("");
console.log(
  `peer's 1-call p99 while another session spins to its deadline: ${ms(peer.spinningP99)} against ${ms(peer.idleP99)} with no spinner: ${(peer.spinningP99 / peer.idleP99).toFixed(2)}x (goal <= 2x); failed runs: ${peer.failed}`,
);
