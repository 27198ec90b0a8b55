/**
 * Soak: `execute_code` with `return 1+1` against the model-facing server in its own process,
 * over stdio (one connection) and over Streamable HTTP (4 clients, each with its session),
 * printing the server's RSS and heap (after a forced GC) after 1k, 10k and 50k executions.
 * Prints figures; asserts nothing. Needs `pnpm build` first.
 *
 *   node bench/soak.ts                 stdio and http, to 50k executions each
 *   BENCH_QUICK=1 node bench/soak.ts   to 10k
 *   SOAK_SNAPSHOTS=/tmp/x node ...     heap snapshots at each checkpoint, for a diff
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";

const QUICK = process.env.BENCH_QUICK === "1";
const CHECKPOINTS = process.env.SOAK_CHECKPOINTS
  ? process.env.SOAK_CHECKPOINTS.split(",").map(Number)
  : QUICK
    ? [1_000, 10_000]
    : [1_000, 10_000, 50_000];
const SERVER = join(import.meta.dirname, "soak-server.ts");
const MB = 1024 * 1024;
const IDLE_MS = Number(process.env.SOAK_IDLE_MS ?? 20_000);
/** Extra V8 flags for the server process, e.g. "--max-semi-space-size=16". */
const FLAGS = (process.env.SOAK_NODE_FLAGS ?? "").split(" ").filter(Boolean);

type Memory = { rss: number; heapUsed: number; heapTotal: number; external: number };

/** Asks the server process for its memory (it answers on stderr). */
function memoryOf(child: ChildProcess, lines: AsyncIterator<string>): Promise<Memory> {
  child.kill("SIGUSR2");
  return (async () => {
    for (;;) {
      const { value, done } = await lines.next();
      if (done) throw new Error("the server exited");
      if (value.startsWith("spaces ") || value.startsWith("smaps ")) console.log(value);
      if (value.startsWith('{"memory"')) return (JSON.parse(value) as { memory: Memory }).memory;
    }
  })();
}

function row(label: string, executions: number, m: Memory, started: number) {
  return {
    transport: label,
    executions: executions.toLocaleString("en-US"),
    "RSS MB": (m.rss / MB).toFixed(0),
    "heap MB": (m.heapUsed / MB).toFixed(1),
    "heap total MB": (m.heapTotal / MB).toFixed(0),
    "external MB": (m.external / MB).toFixed(1),
    "ms per execution": ((performance.now() - started) / Math.max(1, executions)).toFixed(2),
  };
}

async function soakStdio(rows: object[]) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: ["--expose-gc", ...FLAGS, SERVER, "stdio"],
    env: Object.fromEntries(
      Object.entries(process.env).filter(
        (e): e is [string, string] =>
          (e[0] === "PATH" || e[0].startsWith("SOAK_") || e[0].startsWith("MALLOC_")) &&
          e[1] !== undefined,
      ),
    ),
    stderr: "pipe",
  });
  const client = new Client({ name: "soak", version: "1" });
  const stderr = createInterface({ input: transport.stderr as unknown as NodeJS.ReadableStream })[
    Symbol.asyncIterator
  ]();
  await client.connect(transport);
  const child = {
    kill: (signal: NodeJS.Signals) => process.kill(transport.pid!, signal),
  } as ChildProcess;
  try {
    await client.callTool({ name: "execute_code", arguments: { code: "return 1+1" } });
    const started = performance.now();
    rows.push(row("stdio", 0, await memoryOf(child, stderr), started));
    let done = 0;
    for (const checkpoint of CHECKPOINTS) {
      for (; done < checkpoint; done++)
        await client.callTool({ name: "execute_code", arguments: { code: "return 1+1" } });
      rows.push(row("stdio", done, await memoryOf(child, stderr), started));
    }
    // Idle: V8's memory reducer hands back pages it keeps while the server is busy.
    await new Promise((r) => setTimeout(r, IDLE_MS));
    rows.push({
      ...row("stdio", done, await memoryOf(child, stderr), started),
      transport: `stdio, ${IDLE_MS / 1000} s idle`,
    });
  } finally {
    await client.close();
  }
}

async function soakHttp(rows: object[]) {
  const child = spawn(process.execPath, ["--expose-gc", ...FLAGS, SERVER, "http"], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env },
  });
  const stdout = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const stderr = createInterface({ input: child.stderr! })[Symbol.asyncIterator]();
  const url = (await stdout.next()).value as string;
  const clients = await Promise.all(
    Array.from({ length: 4 }, async () => {
      const client = new Client({ name: "soak", version: "1" });
      await client.connect(new StreamableHTTPClientTransport(new URL(url)));
      return client;
    }),
  );
  // Each client keeps one optimizer session, as a conversation does.
  const sessions = clients.map((_, i) => `soak-http-${i}`);
  const call = (i: number) =>
    clients[i]!.callTool({
      name: "execute_code",
      arguments: { code: "return 1+1", session: sessions[i] },
    });
  try {
    await Promise.all(clients.map((_, i) => call(i)));
    const started = performance.now();
    rows.push(row("http, 4 clients", 0, await memoryOf(child, stderr), started));
    let done = 0;
    for (const checkpoint of CHECKPOINTS) {
      await Promise.all(
        clients.map(async (_, i) => {
          for (let n = done + i; n < checkpoint; n += clients.length) await call(i);
        }),
      );
      done = checkpoint;
      rows.push(row("http, 4 clients", done, await memoryOf(child, stderr), started));
    }
    await new Promise((r) => setTimeout(r, IDLE_MS));
    rows.push({
      ...row("http, 4 clients", done, await memoryOf(child, stderr), started),
      transport: `http, ${IDLE_MS / 1000} s idle`,
    });
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    child.kill("SIGTERM");
  }
}

const rows: object[] = [];
const which = process.argv[2];
if (!which || which === "stdio") await soakStdio(rows);
if (!which || which === "http") await soakHttp(rows);
console.table(rows);
