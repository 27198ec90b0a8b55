/**
 * `pnpm bench`: a bounded load run on loopback through HAProxy (the deployment's haproxy.cfg)
 * in front of 1, then 3 gateway replicas (the built bin) sharing one Redis. Clients driven by
 * the MCP client SDK run a one-tool-call program in their own sessions for a fixed time.
 * Prints throughput, p50/p99 latency, errors and memory per replica; asserts nothing.
 * Needs `pnpm build`, redis-server and haproxy on PATH (.ci/setup installs them).
 *
 *   node bench/run.ts                   15 s per run, 8 clients
 *   BENCH_QUICK=1 node bench/run.ts     5 s per run
 *   BENCH_SANDBOX=wasm node bench/run.ts   the sandbox mode (default: process)
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { generateApiKey } from "../dist/index.js";

const QUICK = process.env.BENCH_QUICK === "1";
const RUN_MS = QUICK ? 5000 : 15_000;
const WARM_MS = 3000;
const CLIENTS = 8;
const SANDBOX = process.env.BENCH_SANDBOX ?? "process";
const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
const HAPROXY_CFG = fileURLToPath(new URL("../deploy/haproxy.cfg", import.meta.url));
const require = createRequire(import.meta.url);
const everything = join(
  dirname(require.resolve("@modelcontextprotocol/server-everything/package.json")),
  "dist",
  "index.js",
);
const children = new Set<ChildProcess>();
process.once("exit", () => {
  for (const c of children) c.kill("SIGKILL");
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function start(cmd: string, args: string[]): ChildProcess {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {}
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Resident memory of a process and of it with all its descendants (upstreams, sandbox runners), MiB. */
function memoryOf(pid: number): { rss: number; tree: number } {
  const rssOf = (p: number) => {
    try {
      const line = readFileSync(`/proc/${p}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/);
      return line ? Number(line[1]) / 1024 : 0;
    } catch {
      return 0;
    }
  };
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = Number(
        readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1]!.split(" ")[1],
      );
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {}
  }
  let tree = 0;
  const walk = (p: number) => {
    tree += rssOf(p);
    for (const c of parents.get(p) ?? []) walk(c);
  };
  walk(pid);
  return { rss: rssOf(pid), tree };
}

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

async function runWith(replicaCount: number) {
  const dir = mkdtempSync(join(tmpdir(), "mcpo-gw-bench-"));
  const key = generateApiKey("bench", "bench");
  const redisPort = await freePort();
  const redis = start("redis-server", [
    "--port",
    String(redisPort),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
  ]);
  const replicas: { port: number; child: ChildProcess }[] = [];
  for (let i = 0; i < replicaCount; i++) {
    const port = await freePort();
    const file = join(dir, `gateway-${i}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        mcpServers: { everything: { command: process.execPath, args: [everything, "stdio"] } },
        sandbox: { mode: SANDBOX },
        sessions: { redisUrl: `redis://127.0.0.1:${redisPort}` },
        gateway: { listen: `127.0.0.1:${port}`, drainGraceMs: 0 },
        auth: { apiKeys: { keys: [key.entry] } },
        tenants: { bench: {} },
      }),
    );
    replicas.push({ port, child: start(process.execPath, [BIN, "--config", file]) });
  }
  for (const r of replicas)
    await until("replica ready", async () => (await fetch(`http://127.0.0.1:${r.port}/readyz`)).ok);
  const proxyPort = await freePort();
  const cfg = readFileSync(HAPROXY_CFG, "utf8")
    .split("\n")
    .flatMap((line) => {
      if (/^\s*bind /.test(line)) return [`  bind 127.0.0.1:${proxyPort}`];
      if (/^\s*server gateway-1 /.test(line))
        return replicas.map((r, i) => `  server gateway-${i + 1} 127.0.0.1:${r.port} check`);
      if (/^\s*server /.test(line)) return [];
      return [line];
    })
    .join("\n");
  writeFileSync(join(dir, "haproxy.cfg"), cfg);
  const haproxy = start("haproxy", ["-db", "-f", join(dir, "haproxy.cfg")]);
  await until("haproxy", async () => (await fetch(`http://127.0.0.1:${proxyPort}/healthz`)).ok);
  await new Promise((r) => setTimeout(r, 2500)); // every server up (rise 2 x 1 s)

  const clients = await Promise.all(
    Array.from({ length: CLIENTS }, async (_, i) => {
      const client = new Client(
        { name: `bench-${i}`, version: "1" },
        { versionNegotiation: { mode: "auto" } },
      );
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${proxyPort}/mcp`), {
          requestInit: { headers: { authorization: `Bearer ${key.key}` } },
        }),
      );
      return client;
    }),
  );
  const program = "const r = await everything.echo({ message: 'x' }); return r";
  const latencies: number[] = [];
  const done = clients.map(() => 0);
  let errors = 0;
  const errorKinds = new Map<string, number>();
  let measuring = false;
  let stop = false;
  const loops = clients.map(async (client, i) => {
    while (!stop) {
      const started = performance.now();
      try {
        const result = (await client.callTool({
          name: "execute_code",
          arguments: { code: program, session: `bench-${i}` },
        })) as { isError?: boolean; content: { text: string }[] };
        if (result.isError) throw new Error(result.content[0]?.text.split(":")[0]);
        if (measuring) latencies.push(performance.now() - started);
        done[i]!++;
      } catch (error) {
        if (measuring) {
          errors++;
          const kind = String((error as Error).message).slice(0, 60);
          errorKinds.set(kind, (errorKinds.get(kind) ?? 0) + 1);
        }
      }
    }
  });
  // Warm: every session has run on every replica a few times (each replica opens its own
  // sandbox runner for a session the first time it serves it), then a fixed extra time.
  await until("warm-up", async () => done.every((n) => n >= 3 * replicaCount), 300_000);
  await new Promise((r) => setTimeout(r, WARM_MS));
  measuring = true;
  const began = performance.now();
  await new Promise((r) => setTimeout(r, RUN_MS));
  measuring = false;
  const elapsed = performance.now() - began;
  const memory = replicas.map((r) => memoryOf(r.child.pid!));
  stop = true;
  await Promise.all(loops);
  await Promise.allSettled(clients.map((c) => c.close()));
  for (const c of [haproxy, ...replicas.map((r) => r.child), redis]) c.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
  latencies.sort((a, b) => a - b);
  return {
    replicas: replicaCount,
    executions: latencies.length,
    perSecond: latencies.length / (elapsed / 1000),
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    errors,
    errorKinds: Object.fromEntries(errorKinds),
    memory,
  };
}

const results = [];
for (const n of [1, 3]) results.push(await runWith(n));
const fmt = (n: number, d = 1) => n.toFixed(d);
console.log(
  `\nGateway load through HAProxy: ${CLIENTS} SDK clients (2026-07 per-request), one echo tool call per execution, ${SANDBOX} sandbox, ${RUN_MS / 1000} s per run after a warm-up (every session 3 executions per replica, then ${WARM_MS / 1000} s); ${cpus().length} CPU(s), node ${process.versions.node}\n`,
);
console.log(
  "| replicas | executions/s | p50 ms | p99 ms | errors | RSS per replica MiB (process / with upstream and runners) |",
);
console.log(
  "| -------- | ------------ | ------ | ------ | ------ | -------------------------------------------------------- |",
);
for (const r of results) {
  const mem = r.memory.map((m) => `${fmt(m.rss, 0)} / ${fmt(m.tree, 0)}`).join(", ");
  console.log(
    `| ${r.replicas} | ${fmt(r.perSecond)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${r.errors} | ${mem} |`,
  );
}
const [one, three] = results;
console.log(`\n3 replicas / 1 replica throughput: ${fmt(three!.perSecond / one!.perSecond, 2)}x`);
for (const r of results) if (r.errors) console.log(`errors with ${r.replicas}:`, r.errorKinds);
console.log(JSON.stringify({ results }));
process.exit(0);
