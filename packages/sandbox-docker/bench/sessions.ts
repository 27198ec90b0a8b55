/**
 * `node --expose-gc bench/sessions.ts`: what a session costs in each mode, through the engine
 * (MCPOptimizer in front of the real server-memory over stdio), side by side in one run with
 * the figures docs/PERFORMANCE.md gave before (printed beside them; the goal is no more than
 * 10% worse, and idle memory at most 1 MB per session):
 *
 * - idle memory per session at 1, 100 and 1,000 sessions: host RSS plus every runner (child
 *   processes, or the containers' processes), once the engine released the idle runners;
 * - the first execution after start (a new optimizer and sandbox, `start()`, then `run()`);
 * - warm exec p50 of 1-call and 50-call programs, and exec/s with 1 and 4 callers;
 * - peer isolation: p99 of 100 short runs while another session spins, against idle.
 *
 * Needs `pnpm build`, and a Docker engine for the docker and gvisor rows (gvisor when the
 * engine has runsc). BENCH_QUICK=1: fewer iterations, 1,000 sessions only for process.
 * BENCH_BASELINE=<dir> (made by `bash bench/build-baseline.sh <commit> <dir>`) measures that
 * build too, interleaved with this tree, so both meet the same machine load. BENCH_MODES=
 * process,docker limits the modes.
 */
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { createRequire } from "node:module";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import type { MCPOptimizer, Sandbox, SandboxJob } from "@mcp-optimizer/core";
import * as currentCore from "@mcp-optimizer/core";
import Docker from "dockerode";
import type { DockerSandbox } from "../dist/index.js";
import * as currentDocker from "../dist/index.js";

/** One build of core and sandbox-docker: this tree, or a baseline (bench/build-baseline.sh). */
interface Impl {
  label: string;
  core: typeof currentCore;
  docker: typeof currentDocker;
  /** Session counts for the idle-memory rows (a baseline keeps runners for 5 minutes). */
  idleCounts?: number[];
}

const QUICK = process.env.BENCH_QUICK === "1";
const RUNS = QUICK ? 100 : 400;
const THROUGHPUT_MS = QUICK ? 1500 : 3000;
/** The engine's default idle time (SandboxRunners) plus a reaper period and some slack. */
const RELEASE_WAIT_MS = 10_000 * 1.25 + 1500;

const require = createRequire(import.meta.url);
const memoryServer = join(
  dirname(require.resolve("@modelcontextprotocol/server-memory/package.json")),
  "dist",
  "index.js",
);
const now = () => performance.now();
const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};
const gc = () => (globalThis as { gc?: () => void }).gc?.();
const mb = (bytes: number) => bytes / (1024 * 1024);

/** What docs/PERFORMANCE.md (and docs/performance/core.md) said before this change. */
const BEFORE: Record<string, Record<string, string>> = {
  process: {
    "idle memory per session": "45 MB (memory per added session, core.md)",
    "first execution after start": "630 ms (issue 17)",
    "warm exec p50, 1 call": "0.99 ms (core.md)",
    "warm exec p50, 50 calls": "n/a (10 calls: 4.09 ms)",
    "exec/s, 1 caller": "4,276 (core.md)",
    "exec/s, 4 callers": "4,527 (core.md)",
  },
  docker: {
    "idle memory per session": "10 MB charged, 44 MB RSS (PERFORMANCE.md)",
  },
};

interface Mode {
  name: string;
  make: (impl: Impl) => Sandbox;
  /** Resident memory of every runner of the sandbox, in bytes. */
  runnersRss: (sandbox: Sandbox) => Promise<number>;
  sessionCounts: number[];
}

function residentBytes(pid: number): number {
  try {
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return rss ? Number(rss[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Resident memory of every process this one started, transitively (upstream included). */
async function descendantsRss(): Promise<number> {
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {}
  }
  const found = new Set<number>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of parents) {
      if (!found.has(pid) && (ppid === process.pid || found.has(ppid))) {
        found.add(pid);
        grew = true;
      }
    }
  }
  let total = 0;
  for (const pid of found) total += residentBytes(pid);
  return total;
}

const docker = new Docker();
/** Resident memory of the processes in the sandbox's containers (a local engine). */
async function containersRss(sandbox: Sandbox): Promise<number> {
  const instance = (sandbox as DockerSandbox).instance;
  const list = await docker.listContainers({
    filters: { label: [`org.mcp-optimizer.instance=${instance}`] },
  });
  let total = 0;
  for (const c of list) {
    const top = (await docker.getContainer(c.Id).top({ ps_args: "-o pid" })) as {
      Processes?: string[][];
    };
    for (const [pid] of top.Processes ?? []) total += residentBytes(Number(pid));
  }
  return total;
}

async function engine(impl: Impl, sandbox: Sandbox, dir: string) {
  const optimizer = new impl.core.MCPOptimizer({
    sandbox,
    sessions: impl.core.createMemorySessionStore(),
    mcpServers: {
      memory: {
        command: process.execPath,
        args: [memoryServer],
        env: { MEMORY_FILE_PATH: join(dir, "memory.jsonl") },
      },
    },
  });
  return optimizer;
}

async function latency(optimizer: MCPOptimizer, code: string, sessionId: string, runs: number) {
  for (let i = 0; i < 10; i++) await optimizer.run(code, { sessionId });
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = now();
    await optimizer.run(code, { sessionId });
    samples.push(now() - t);
  }
  return quantile(samples, 0.5);
}

async function throughput(optimizer: MCPOptimizer, callers: number) {
  const ids = Array.from({ length: callers }, (_, i) => `tp-${callers}-${i}`);
  for (const id of ids) await optimizer.run("return 1", { sessionId: id });
  let done = 0;
  const started = now();
  const until = started + THROUGHPUT_MS;
  await Promise.all(
    ids.map(async (sessionId) => {
      while (now() < until) {
        await optimizer.run("return 1", { sessionId });
        done++;
      }
    }),
  );
  return done / ((now() - started) / 1000);
}

/** Host RSS plus the sandbox's runners, after a GC. */
async function footprint(mode: Mode, sandbox: Sandbox): Promise<number> {
  gc();
  await new Promise((r) => setTimeout(r, 200));
  gc();
  const runners = mode.name === "process" ? 0 : await mode.runnersRss(sandbox);
  // For process, the descendants are the runners (and the upstream server, a constant).
  return process.memoryUsage().rss + (await descendantsRss()) + runners;
}

async function idleMemory(mode: Mode, optimizer: MCPOptimizer, sandbox: Sandbox, count: number) {
  await new Promise((r) => setTimeout(r, RELEASE_WAIT_MS)); // earlier sessions' runners released
  const before = await footprint(mode, sandbox);
  const ids = Array.from({ length: count }, (_, i) => `idle-${count}-${i}`);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(4, count) }, async () => {
      while (next < ids.length) {
        const id = ids[next++]!;
        await optimizer.run("state.seen = true; return 1", { sessionId: id });
      }
    }),
  );
  await new Promise((r) => setTimeout(r, RELEASE_WAIT_MS));
  const after = await footprint(mode, sandbox);
  return Math.max(0, after - before) / count;
}

/** p99 of 100 short runs on one session, alone and while another session spins. */
async function peerIsolation(sandbox: Sandbox) {
  const limits = { timeoutMs: 60_000, maxMemoryMb: 128, maxOutputBytes: 65_536, maxLogBytes: 4096 };
  let n = 0;
  const job = (code: string, timeoutMs = limits.timeoutMs): SandboxJob => ({
    id: `peer-${++n}`,
    code,
    servers: [],
    state: {},
    limits: { ...limits, timeoutMs },
  });
  const host = { call: async () => null };
  const session = await sandbox.open({ sessionId: "peer-bystander" });
  const p99 = async () => {
    const samples: number[] = [];
    for (let i = 0; i < 100; i++) {
      const t = now();
      await session.execute(job("return 1"), host);
      samples.push(now() - t);
    }
    return quantile(samples, 0.99);
  };
  await p99(); // warm
  const idle = await p99();
  const spinner = await sandbox.open({ sessionId: "peer-spinner" });
  const spinning = spinner.execute(job("for (;;) {}", 30_000), host).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 300));
  const busy = await p99();
  await spinner.close();
  await spinning;
  await session.close();
  return { idle, busy };
}

async function measure(mode: Mode, impl: Impl, dir: string): Promise<Record<string, string>> {
  const row: Record<string, string> = {};
  // First execution after start: a new sandbox and optimizer, start(), then run().
  const t0 = now();
  const sandbox = mode.make(impl);
  const optimizer = await engine(impl, sandbox, dir);
  try {
    await optimizer.start();
    const t1 = now();
    await optimizer.run("return 1");
    const t2 = now();
    row["start()"] = `${(t1 - t0).toFixed(0)} ms`;
    row["first execution after start"] = `${(t2 - t1).toFixed(1)} ms`;

    const oneCall = await latency(
      optimizer,
      "return (await memory.read_graph({})).entities.length",
      "one",
      RUNS,
    );
    const fiftyCalls = await latency(
      optimizer,
      "let n = 0; for (let i = 0; i < 50; i++) n += (await memory.read_graph({})).entities.length; return n",
      "fifty",
      Math.max(20, Math.floor(RUNS / 10)),
    );
    row["warm exec p50, 1 call"] = `${oneCall.toFixed(2)} ms`;
    row["warm exec p50, 50 calls"] = `${fiftyCalls.toFixed(2)} ms`;
    row["exec/s, 1 caller"] = (await throughput(optimizer, 1)).toFixed(0);
    row["exec/s, 4 callers"] = (await throughput(optimizer, 4)).toFixed(0);

    const peer = await peerIsolation(sandbox);
    row["peer p99: idle / beside a spinner"] =
      `${peer.idle.toFixed(2)} / ${peer.busy.toFixed(2)} ms (x${(peer.busy / peer.idle).toFixed(2)})`;

    for (const count of impl.idleCounts ?? mode.sessionCounts) {
      const perSession = await idleMemory(mode, optimizer, sandbox, count);
      row[`idle memory per session, ${count}`] = `${mb(perSession).toFixed(3)} MB`;
    }
  } finally {
    await optimizer.close();
    await sandbox.close();
  }
  return row;
}

async function main(): Promise<void> {
  if (!(globalThis as { gc?: unknown }).gc) {
    console.log("note: run with --expose-gc for steadier memory figures");
  }
  const info = (await docker.info().catch(() => undefined)) as
    | { Runtimes?: object; ServerVersion?: string }
    | undefined;
  const runtimes = Object.keys(info?.Runtimes ?? {});
  console.log(
    `machine: ${process.platform}/${process.arch}, ${cpus().length} cores, node ${process.version}, docker ${info?.ServerVersion ?? "none"}${QUICK ? " (quick)" : ""}`,
  );
  const modes: Mode[] = [
    {
      name: "process",
      make: (impl) => impl.core.createProcessSandbox({ poolSize: 1 }),
      runnersRss: async () => 0,
      sessionCounts: [1, 100, 1000],
    },
  ];
  if (info) {
    modes.push({
      name: "docker",
      make: (impl) => impl.docker.createDockerSandbox({ poolSize: 1 }),
      runnersRss: containersRss,
      sessionCounts: QUICK ? [1, 20] : [1, 100, 1000],
    });
    if (runtimes.includes("runsc")) {
      modes.push({
        name: "gvisor",
        make: (impl) => impl.docker.createDockerSandbox({ mode: "gvisor", poolSize: 1 }),
        runnersRss: containersRss,
        sessionCounts: QUICK ? [1, 10] : [1, 100],
      });
    }
  } else {
    console.log("docker, gvisor: skipped (no Docker engine answers)");
  }
  const only = process.env.BENCH_MODES?.split(",");
  if (only) modes.splice(0, modes.length, ...modes.filter((m) => only.includes(m.name)));
  const impls: Impl[] = [{ label: "this tree", core: currentCore, docker: currentDocker }];
  const base = process.env.BENCH_BASELINE;
  if (base) {
    const load = (path: string) => import(pathToFileURL(join(base, path)).href);
    impls.push({
      label: "baseline",
      core: await load("packages/core/dist/index.js"),
      docker: await load("packages/sandbox-docker/dist/index.js"),
      idleCounts: [1, 10],
    });
  }
  const dir = await mkdtemp(join(tmpdir(), "mcpo-sessions-bench-"));
  try {
    for (const mode of modes) {
      const rows: Record<string, Record<string, string>> = {};
      for (const impl of impls) {
        // The baseline has no gvisor figures of its own to compare with: skip it there.
        if (impl.label === "baseline" && mode.name === "gvisor") continue;
        process.stdout.write(`measuring ${mode.name} (${impl.label})... `);
        rows[impl.label] = await measure(mode, impl, dir);
        console.log("done");
      }
      const table: Record<string, Record<string, string>> = {};
      const keys = new Set(Object.values(rows).flatMap((r) => Object.keys(r)));
      for (const key of keys) {
        const beforeKey = key.startsWith("idle memory per session")
          ? "idle memory per session"
          : key;
        table[key] = {};
        for (const impl of impls) table[key][impl.label] = rows[impl.label]?.[key] ?? "n/a";
        table[key]["docs before"] = BEFORE[mode.name]?.[beforeKey] ?? "n/a";
      }
      console.log(`\n${mode.name}`);
      console.table(table);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    "Goals: idle memory <= 1 MB per session in every mode; first execution after start <= 100 ms (process); nothing more than 10% worse than before.",
  );
}

await main();
