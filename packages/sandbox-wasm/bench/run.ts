/**
 * `pnpm bench`: figures for the wasm sandbox (QuickJS on wasm32-wasi under @wasmer/sdk, in a
 * killable engine process). Prints figures and the targets; asserts nothing.
 * Needs `pnpm build` first (the engine and dist/).
 *
 *   node bench/run.ts                  all figures
 *   BENCH_QUICK=1 node bench/run.ts    fewer iterations
 */
import { readFileSync } from "node:fs";
import type { SandboxHost, SandboxJob, SandboxLimits, SandboxSession } from "@mcp-optimizer/core";
import { createWasmSandbox, type WasmSandbox } from "../dist/index.js";

const QUICK = process.env.BENCH_QUICK === "1";
const WARM_RUNS = QUICK ? 300 : 2000;
const TOOL_CALLS = QUICK ? 300 : 2000;
const COLD_RUNS = QUICK ? 2 : 5;
const IDLE_SESSIONS = 10;
const THROUGHPUT_MS = QUICK ? 1500 : 3000;

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
const job = (code: string): SandboxJob => ({
  id: `bench-${++jobs}`,
  code,
  servers: [{ name: "bench", global: "bench", tools: ["echo"] }],
  state: {},
  limits,
});

const ms = (n: number) => `${n < 1 ? n.toFixed(3) : n.toFixed(1)} ms`;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const median = (xs: number[]) =>
  quantile(
    [...xs].sort((a, b) => a - b),
    0.5,
  );

function rss(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[1]) * 4096;
  } catch {
    return 0;
  }
}
// Guests run on threads of this process.
const enginesRss = (_sandbox: WasmSandbox) => rss(process.pid);

async function coldStart(): Promise<{ process: number; guest: number; pooled: number }> {
  const processStarts: number[] = [];
  const guestStarts: number[] = [];
  const pooledStarts: number[] = [];
  for (let i = 0; i < COLD_RUNS; i++) {
    // A new engine process, a new guest, the first execution.
    const cold = createWasmSandbox({ poolSize: 0 });
    let t = performance.now();
    let s = await cold.open();
    await s.execute(job("return 1"), host);
    processStarts.push(performance.now() - t);
    await s.close();
    // A new guest in a running engine process.
    t = performance.now();
    s = await cold.open();
    await s.execute(job("return 1"), host);
    guestStarts.push(performance.now() - t);
    await s.close();
    await cold.close();
    // A new session served from a warm pool.
    const pooled = createWasmSandbox({ poolSize: 1 });
    await pooled.warm();
    t = performance.now();
    s = await pooled.open();
    await s.execute(job("return 1"), host);
    pooledStarts.push(performance.now() - t);
    await pooled.close();
  }
  return {
    process: median(processStarts),
    guest: median(guestStarts),
    pooled: median(pooledStarts),
  };
}

async function warmExec(session: SandboxSession): Promise<{ p50: number; p95: number }> {
  for (let i = 0; i < 50; i++) await session.execute(job("return 1"), host);
  const times: number[] = [];
  for (let i = 0; i < WARM_RUNS; i++) {
    const t = performance.now();
    await session.execute(job("return 1"), host);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { p50: quantile(times, 0.5), p95: quantile(times, 0.95) };
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

async function throughput(sandbox: WasmSandbox, sessions: number): Promise<number> {
  const opened = await Promise.all(Array.from({ length: sessions }, () => sandbox.open()));
  for (const s of opened) await s.execute(job("return 1"), host);
  let done = 0;
  const until = performance.now() + THROUGHPUT_MS;
  await Promise.all(
    opened.map(async (s) => {
      while (performance.now() < until) {
        await s.execute(job("return 1"), host);
        done++;
      }
    }),
  );
  await Promise.all(opened.map((s) => s.close()));
  return done / (THROUGHPUT_MS / 1000);
}

async function idleMemory(): Promise<{ perSession: number; engineBase: number }> {
  const sandbox = createWasmSandbox({ poolSize: 0 });
  const first = await sandbox.open();
  await first.execute(job("return 1"), host);
  await new Promise((r) => setTimeout(r, 500));
  const base = enginesRss(sandbox);
  const sessions: SandboxSession[] = [];
  for (let i = 0; i < IDLE_SESSIONS; i++) {
    const s = await sandbox.open();
    await s.execute(
      job("globalThis.cache = Array.from({ length: 100 }, (_, i) => i); return 1"),
      host,
    );
    sessions.push(s);
  }
  await new Promise((r) => setTimeout(r, 500));
  const after = enginesRss(sandbox);
  await sandbox.close();
  return { perSession: (after - base) / IDLE_SESSIONS, engineBase: base };
}

const hostBefore = process.memoryUsage().rss;
const cold = await coldStart();
const sandbox = createWasmSandbox({ poolSize: 2 });
await sandbox.warm();
const session = await sandbox.open();
const warm = await warmExec(session);
const roundTrip = await toolRoundTrip(session);
await session.close();
const rate1 = await throughput(sandbox, 1);
const rate2 = await throughput(sandbox, 2);
const rate4 = await throughput(sandbox, 4);
const caps = await sandbox.capabilities();
await sandbox.close();
const idle = await idleMemory();

const target = (ok: boolean) => (ok ? "met" : "NOT met");
console.log(`wasm sandbox: ${caps.details.engine}, ${caps.details.runtime}`);
console.log(`engine module: ${Math.round(Number(caps.details.wasmBytes) / 1024)} KB`);
console.log("");
console.log(`cold start (new engine process + guest + first run), p50: ${ms(cold.process)}`);
console.log(`new guest in a running engine process + first run, p50: ${ms(cold.guest)}`);
console.log(`new session from the warm pool + first run, p50:        ${ms(cold.pooled)}`);
console.log(
  `warm trivial execution over ${WARM_RUNS} runs: p50 ${ms(warm.p50)}, p95 ${ms(warm.p95)}   (target p50 <= 1 ms: ${target(warm.p50 <= 1)})`,
);
console.log(
  `tool round trip (${TOOL_CALLS} sequential calls): ${ms(roundTrip)} per call   (target <= 0.15 ms: ${target(roundTrip <= 0.15)})`,
);
console.log(
  `executions/s: 1 session ${rate1.toFixed(0)}, 2 sessions ${rate2.toFixed(0)}, 4 sessions ${rate4.toFixed(0)}   (target >= 2000 on two cores: ${target(Math.max(rate2, rate4) >= 2000)})`,
);
console.log(
  `memory per idle session (engine process RSS growth / ${IDLE_SESSIONS}): ${mb(idle.perSession)}   (target <= 20 MB: ${target(idle.perSession <= 20 * 1024 * 1024)})`,
);
console.log(`engine process with one guest (shared base): ${mb(idle.engineBase)}`);
console.log(`host RSS growth during the benchmark: ${mb(process.memoryUsage().rss - hostBefore)}`);
