/**
 * `pnpm bench`: the docker sandbox (runc, crun, and gVisor's runsc where the engine has them)
 * side by side with core's process sandbox (and the wasm sandbox when its package is built),
 * in one run on one machine. `bench/sessions.ts` measures sessions through the engine. Prints figures; asserts
 * nothing. Needs a Docker engine (DOCKER_HOST or the local socket) and `pnpm build` first.
 *
 *   node bench/run.ts            all figures
 *   BENCH_QUICK=1 node bench/run.ts   fewer iterations
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  createProcessSandbox,
  type Sandbox,
  type SandboxHost,
  type SandboxJob,
  type SandboxLimits,
  type SandboxSession,
} from "@mcp-optimizer/core";
import Docker from "dockerode";
import { createDockerSandbox, type DockerSandbox } from "../dist/index.js";

const QUICK = process.env.BENCH_QUICK === "1";
const WARM_RUNS = QUICK ? 100 : 500;
const TOOL_CALLS = QUICK ? 100 : 500;
const COLD_RUNS = QUICK ? 3 : 5;
const IDLE_SESSIONS = 5;
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

interface Contender {
  name: string;
  /** A sandbox with a warm pool of `poolSize`. */
  make: (poolSize: number) => Sandbox;
  /** Memory of one idle session's runner, in bytes: resident, and charged to its cgroup. */
  idleMemory: (sandbox: Sandbox, sessions: SandboxSession[]) => Promise<IdleMemory>;
}

interface IdleMemory {
  rss: number | undefined;
  charged: number | undefined;
}

interface Figures {
  coldStartMs: number;
  pooledFirstRunMs: number;
  warmP50Ms: number;
  warmP95Ms: number;
  toolRoundTripMs: number;
  execPerSecOneSession: number;
  execPerSecFourSessions: number;
  idleRssMb: number | undefined;
  idleChargedMb: number | undefined;
}

const quantile = (values: number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};
const median = (values: number[]) => quantile(values, 0.5);
const now = () => performance.now();

async function timed(session: SandboxSession, code: string): Promise<number> {
  const t = now();
  await session.execute(job(code), host);
  return now() - t;
}

async function measure(c: Contender): Promise<Figures> {
  // Cold start: no pool, a new session, its first execution.
  const cold: number[] = [];
  {
    const sandbox = c.make(0);
    await (await sandbox.open()).execute(job("return 0"), host); // image build, engine checks
    for (let i = 0; i < COLD_RUNS; i++) {
      // open() counts too: some sandboxes start the runner there, others on the first run.
      const t = now();
      const session = await sandbox.open();
      await session.execute(job("return 1"), host);
      cold.push(now() - t);
      await session.close();
    }
    await sandbox.close();
  }

  const sandbox = c.make(1);
  try {
    // A new session's first execution when the pool is warm: what a user sees.
    const pooled: number[] = [];
    for (let i = 0; i < COLD_RUNS; i++) {
      await warm(sandbox);
      const t = now();
      const session = await sandbox.open();
      await session.execute(job("return 1"), host);
      pooled.push(now() - t);
      await session.close();
    }

    const session = await sandbox.open();
    for (let i = 0; i < 20; i++) await timed(session, "return 1");
    const warmRuns: number[] = [];
    for (let i = 0; i < WARM_RUNS; i++) warmRuns.push(await timed(session, "return 1"));

    // Tool round trip: sequential calls inside one execution, minus an empty execution.
    const base: number[] = [];
    const withCalls: number[] = [];
    for (let i = 0; i < 5; i++) {
      base.push(await timed(session, "return 1"));
      withCalls.push(
        await timed(
          session,
          `for (let i = 0; i < ${TOOL_CALLS}; i++) await bench.echo({ i }); return 1`,
        ),
      );
    }
    const toolRoundTripMs = (median(withCalls) - median(base)) / TOOL_CALLS;

    const oneSession = await throughput([session]);
    const four = [session];
    for (let i = 0; i < 3; i++) four.push(await sandbox.open());
    for (const s of four) await s.execute(job("return 1"), host);
    const fourSessions = await throughput(four);

    const idle: SandboxSession[] = [];
    for (let i = 0; i < IDLE_SESSIONS; i++) {
      const s = await sandbox.open();
      await s.execute(job("return 1"), host);
      idle.push(s);
    }
    await new Promise((r) => setTimeout(r, 500));
    const idleBytes = await c.idleMemory(sandbox, idle);
    const mb = (bytes: number | undefined) =>
      bytes === undefined ? undefined : bytes / (1024 * 1024);
    await Promise.all([...four, ...idle].map((s) => s.close()));
    return {
      coldStartMs: median(cold),
      pooledFirstRunMs: median(pooled),
      warmP50Ms: median(warmRuns),
      warmP95Ms: quantile(warmRuns, 0.95),
      toolRoundTripMs,
      execPerSecOneSession: oneSession,
      execPerSecFourSessions: fourSessions,
      idleRssMb: mb(idleBytes.rss),
      idleChargedMb: mb(idleBytes.charged),
    };
  } finally {
    await sandbox.close();
  }
}

async function warm(sandbox: Sandbox): Promise<void> {
  const w = (sandbox as { warm?: () => Promise<void> }).warm;
  if (w) await w.call(sandbox);
  else await new Promise((r) => setTimeout(r, 1000));
}

async function throughput(sessions: SandboxSession[]): Promise<number> {
  let done = 0;
  const until = now() + THROUGHPUT_MS;
  const started = now();
  await Promise.all(
    sessions.map(async (s) => {
      while (now() < until) {
        await s.execute(job("return 1"), host);
        done++;
      }
    }),
  );
  return done / ((now() - started) / 1000);
}

/**
 * Memory of idle containers: resident set of the container's Node (read from /proc when the
 * engine is local), and what the engine's cgroup charges it (usage less reclaimable cache;
 * Node's binary pages are shared page cache and mostly charged elsewhere).
 */
async function containerMemory(sandbox: Sandbox, sessions: SandboxSession[]): Promise<IdleMemory> {
  const docker = new Docker();
  const instance = (sandbox as DockerSandbox).instance;
  const list = await docker.listContainers({
    filters: { label: [`org.mcp-optimizer.instance=${instance}`] },
  });
  const charged: number[] = [];
  const rss: number[] = [];
  for (const c of list) {
    const container = docker.getContainer(c.Id);
    const stats = (await container.stats({ stream: false })) as {
      memory_stats?: { usage?: number; stats?: Record<string, number> };
    };
    const m = stats.memory_stats;
    if (m?.usage)
      charged.push(m.usage - (m.stats?.total_inactive_file ?? m.stats?.inactive_file ?? 0));
    const pid = (await container.inspect()).State.Pid;
    const resident = pid ? residentBytes(pid) : undefined;
    if (resident !== undefined) rss.push(resident);
  }
  // The pool's idle container counts too: it is an idle runner like the sessions'.
  const enough = (xs: number[]) => (xs.length >= sessions.length ? median(xs) : undefined);
  return { rss: enough(rss), charged: enough(charged) };
}

function residentBytes(pid: number): number | undefined {
  try {
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return rss ? Number(rss[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Resident memory of the runner processes this process started (Linux /proc). */
async function childProcessMemory(
  _sandbox: Sandbox,
  sessions: SandboxSession[],
): Promise<IdleMemory> {
  if (process.platform !== "linux") return { rss: undefined, charged: undefined };
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(Number(entry), ppid);
    } catch {}
  }
  const descendants = new Set<number>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of parents) {
      if (!descendants.has(pid) && (ppid === process.pid || descendants.has(ppid))) {
        descendants.add(pid);
        grew = true;
      }
    }
  }
  let total = 0;
  for (const pid of descendants) total += residentBytes(pid) ?? 0;
  // The sessions' runners plus one pooled runner (each under a tiny `unshare` parent).
  return { rss: total / (sessions.length + 1), charged: undefined };
}

async function wasmContender(): Promise<Contender | string> {
  const here = dirname(fileURLToPath(import.meta.url));
  const places = [
    "@mcp-optimizer/sandbox-wasm",
    pathToFileURL(join(here, "../../sandbox-wasm/dist/index.js")).href,
  ];
  for (const specifier of places) {
    try {
      const mod = (await import(specifier)) as {
        createWasmSandbox?: (o: { poolSize: number }) => Sandbox;
      };
      const create = mod.createWasmSandbox;
      if (typeof create !== "function") continue;
      return {
        name: "wasm",
        make: (poolSize) => create({ poolSize }),
        // Guests share one engine process; its own bench measures memory per idle guest.
        idleMemory: async () => ({ rss: undefined, charged: undefined }),
      };
    } catch {}
  }
  return "wasm: skipped (@mcp-optimizer/sandbox-wasm is not built or not installed; build it to compare)";
}

async function main(): Promise<void> {
  const docker = new Docker();
  const info = await docker.info().catch((e: unknown) => {
    throw new Error(
      `No Docker engine answers (${e instanceof Error ? e.message : String(e)}); start one or set DOCKER_HOST.`,
    );
  });
  const runtimes = Object.keys((info as { Runtimes?: object }).Runtimes ?? {});
  console.log(
    `machine: ${process.platform}/${process.arch}, ${(await import("node:os")).cpus().length} cores, node ${process.version}, docker ${String((info as { ServerVersion?: string }).ServerVersion)} (cgroup v${String((info as { CgroupVersion?: string }).CgroupVersion)})`,
  );
  const contenders: Contender[] = [
    {
      name: "process",
      make: (poolSize) => createProcessSandbox({ poolSize }),
      idleMemory: childProcessMemory,
    },
    {
      name: "docker (runc)",
      make: (poolSize) => createDockerSandbox({ poolSize }),
      idleMemory: containerMemory,
    },
  ];
  if (runtimes.includes("crun")) {
    contenders.push({
      name: "docker (crun)",
      make: (poolSize) => createDockerSandbox({ poolSize, runtime: "crun" }),
      idleMemory: containerMemory,
    });
  }
  if (runtimes.includes("runsc")) {
    contenders.push({
      name: "gvisor (runsc)",
      make: (poolSize) => createDockerSandbox({ poolSize, mode: "gvisor" }),
      idleMemory: containerMemory,
    });
  }
  const wasm = await wasmContender();
  if (typeof wasm === "string") console.log(wasm);
  else contenders.splice(1, 0, wasm);

  const rows: Record<string, Record<string, string>> = {};
  for (const c of contenders) {
    process.stdout.write(`measuring ${c.name}... `);
    const f = await measure(c);
    console.log("done");
    rows[c.name] = {
      "cold start (ms, p50)": f.coldStartMs.toFixed(1),
      "new session, warm pool (ms, p50)": f.pooledFirstRunMs.toFixed(1),
      "warm exec p50 (ms)": f.warmP50Ms.toFixed(2),
      "warm exec p95 (ms)": f.warmP95Ms.toFixed(2),
      "tool round trip (ms)": f.toolRoundTripMs.toFixed(3),
      "exec/s, 1 session": f.execPerSecOneSession.toFixed(0),
      "exec/s, 4 sessions": f.execPerSecFourSessions.toFixed(0),
      "idle session RSS (MB)": f.idleRssMb === undefined ? "n/a" : f.idleRssMb.toFixed(1),
      "idle session, cgroup-charged (MB)":
        f.idleChargedMb === undefined ? "n/a" : f.idleChargedMb.toFixed(1),
    };
  }
  console.table(rows);
  console.log(
    "Targets (docker): warm exec p50 <= 5 ms, tool round trip <= 0.5 ms, cold start hidden by the pool, <= 100 MB per idle session.",
  );
}

await main();
