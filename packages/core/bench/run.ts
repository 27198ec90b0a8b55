/**
 * `pnpm bench` for core: the engine end to end on the embedded defaults (process sandbox,
 * in-memory sessions) in front of a real MCP server over stdio. Prints figures and the brief's
 * targets beside them; asserts nothing. Needs `pnpm build` first.
 *
 *   node bench/run.ts                  all figures
 *   BENCH_QUICK=1 node bench/run.ts    fewer iterations
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { compileProgram, createMemorySessionStore, MCPOptimizer } from "../dist/index.js";

const QUICK = process.env.BENCH_QUICK === "1";
const RUNS = QUICK ? 200 : 1000;
const THROUGHPUT_MS = QUICK ? 1500 : 4000;

const require = createRequire(import.meta.url);
const serverBin = (pkg: string) =>
  join(dirname(require.resolve(`${pkg}/package.json`)), "dist", "index.js");

const now = () => performance.now();
const quantile = (values: number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};
const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

function residentBytes(pid: number): number {
  try {
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return rss ? Number(rss[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Resident memory of every process this one started, transitively (Linux /proc). */
function descendantsRss(): number {
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

async function latency(optimizer: MCPOptimizer, code: string, sessionId: string) {
  for (let i = 0; i < 20; i++) await optimizer.run(code, { sessionId });
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = now();
    await optimizer.run(code, { sessionId });
    samples.push(now() - t);
  }
  return samples;
}

async function throughput(optimizer: MCPOptimizer, code: string, sessions: number) {
  const ids = Array.from({ length: sessions }, (_, i) => `tp-${sessions}-${i}`);
  for (const id of ids) await optimizer.run(code, { sessionId: id });
  let done = 0;
  const started = now();
  const until = started + THROUGHPUT_MS;
  await Promise.all(
    ids.map(async (sessionId) => {
      while (now() < until) {
        await optimizer.run(code, { sessionId });
        done++;
      }
    }),
  );
  return done / ((now() - started) / 1000);
}

async function main(): Promise<void> {
  console.log(
    `machine: ${process.platform}/${process.arch}, ${cpus().length} cores, node ${process.version}${QUICK ? " (quick)" : ""}`,
  );
  const dir = mkdtempSync(join(tmpdir(), "mcpo-core-bench-"));
  const optimizer = new MCPOptimizer({
    sandboxConfig: { mode: "process" },
    sessions: createMemorySessionStore(),
    mcpServers: {
      memory: {
        command: process.execPath,
        args: [serverBin("@modelcontextprotocol/server-memory")],
        env: { MEMORY_FILE_PATH: join(dir, "memory.jsonl") },
      },
    },
    maxSandboxSessions: 64,
  });
  const rows: Record<string, Record<string, string>> = {};
  try {
    await optimizer.run(
      "await memory.create_entities({ entities: [{ name: 'bench', entityType: 'thing', observations: ['x'] }] }); return 1",
    );

    // Transpile: the acorn fast path (plain JS) and esbuild (TypeScript).
    const js = "const g = await memory.read_graph({}); return g.entities.length";
    const ts =
      "const g: { entities: unknown[] } = await memory.read_graph({}); return g.entities.length";
    const compile = async (source: string) => {
      const samples: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const t = now();
        await compileProgram(`${source} // ${i}`); // unique text: no cache hit
        samples.push(now() - t);
      }
      return samples;
    };
    const jsCompile = await compile(js);
    const tsCompile = await compile(ts);
    rows["compile, JavaScript (acorn)"] = {
      p50: `${quantile(jsCompile, 0.5).toFixed(3)} ms`,
      p95: `${quantile(jsCompile, 0.95).toFixed(3)} ms`,
    };
    rows["compile, TypeScript (esbuild)"] = {
      p50: `${quantile(tsCompile, 0.5).toFixed(3)} ms`,
      p95: `${quantile(tsCompile, 0.95).toFixed(3)} ms`,
    };

    // Engine latency: session lookup, compile, sandbox, bridge, result shaping, token counting.
    const empty = await latency(optimizer, "return 1", "lat-empty");
    const oneCall = await latency(optimizer, js, "lat-call");
    const tenCalls = await latency(
      optimizer,
      "let n = 0; for (let i = 0; i < 10; i++) n += (await memory.read_graph({})).entities.length; return n",
      "lat-ten",
    );
    const row = (samples: number[]) => ({
      p50: `${quantile(samples, 0.5).toFixed(2)} ms`,
      p95: `${quantile(samples, 0.95).toFixed(2)} ms`,
      mean: `${mean(samples).toFixed(2)} ms`,
    });
    rows["run(): no tool call"] = row(empty);
    rows["run(): 1 tool call (server-memory, stdio)"] = row(oneCall);
    rows["run(): 10 tool calls"] = row(tenCalls);

    const tp1 = await throughput(optimizer, "return 1", 1);
    const tp4 = await throughput(optimizer, "return 1", 4);
    const tpCall4 = await throughput(optimizer, js, 4);
    rows["operations/s, 1 session, no call"] = { value: tp1.toFixed(0) };
    rows["operations/s, 4 sessions, no call"] = { value: tp4.toFixed(0) };
    rows["operations/s, 4 sessions, 1 tool call each"] = { value: tpCall4.toFixed(0) };

    // Memory per session: host heap plus sandbox processes, divided by live sessions.
    const before = process.memoryUsage().rss + descendantsRss();
    const extra = 16;
    for (let i = 0; i < extra; i++) await optimizer.run("return 1", { sessionId: `mem-${i}` });
    await new Promise((r) => setTimeout(r, 300));
    const after = process.memoryUsage().rss + descendantsRss();
    rows["memory per added session (host + sandbox)"] = {
      value: `${((after - before) / extra / (1024 * 1024)).toFixed(1)} MB`,
    };

    console.table(rows);
    const avg = mean(oneCall);
    console.log(
      [
        "targets from the brief:",
        `  average latency <= 50 ms: ${avg.toFixed(2)} ms (1 tool call), ratio ${(50 / avg).toFixed(1)}x under`,
        `  >= 1000 operations/s: ${tp4.toFixed(0)}/s without calls, ${tpCall4.toFixed(0)}/s with one call each`,
        `  < 100 MB per session: ${((after - before) / extra / (1024 * 1024)).toFixed(1)} MB`,
      ].join("\n"),
    );
  } finally {
    await optimizer.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
