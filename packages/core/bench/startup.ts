/**
 * Start-up: `serve` over stdio with three real stdio servers (server-memory, -filesystem,
 * -everything): process start to the `initialize` answer, to the first `tools/list`, and to
 * the moment every server's tools are listed; and the first execution in a fresh process,
 * one that calls no server and one that calls one. STARTUP_SLOW_MS adds a fourth server that
 * takes that long to start (test/fixtures/fake-server.mjs), as a slow real server does. Prints figures; asserts nothing. Needs
 * `pnpm build` first.
 *
 *   node bench/startup.ts
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";

const QUICK = process.env.BENCH_QUICK === "1";
const RUNS = QUICK ? 2 : 5;
const require = createRequire(import.meta.url);
const bin = (pkg: string) =>
  join(dirname(require.resolve(`${pkg}/package.json`)), "dist", "index.js");
const dir = mkdtempSync(join(tmpdir(), "mcpo-startup-"));
const servers = {
  memory: {
    command: process.execPath,
    args: [bin("@modelcontextprotocol/server-memory")],
    env: { MEMORY_FILE_PATH: join(dir, "memory.jsonl") },
  },
  files: { command: process.execPath, args: [bin("@modelcontextprotocol/server-filesystem"), dir] },
  everything: {
    command: process.execPath,
    args: [bin("@modelcontextprotocol/server-everything"), "stdio"],
  },
};
if (process.env.STARTUP_SLOW_MS) {
  (servers as Record<string, unknown>).slow = {
    command: process.execPath,
    args: [join(import.meta.dirname, "..", "test", "fixtures", "fake-server.mjs")],
    env: { FAKE_START_DELAY_MS: process.env.STARTUP_SLOW_MS },
  };
}
const SERVE = join(import.meta.dirname, "serve-child.ts");
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** One `serve` process: ms from spawn to initialize, first tools/list, and all three servers listed. */
async function serveOnce(): Promise<{ initialize: number; toolsList: number; allServers: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, [SERVE, JSON.stringify(servers)], {
    stdio: ["pipe", "pipe", "ignore"],
  });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const send = (m: object) => child.stdin!.write(`${JSON.stringify(m)}\n`);
  const next = async (
    match: (m: {
      id?: number;
      method?: string;
      result?: { tools?: { name: string; description: string }[] };
    }) => boolean,
  ) => {
    for (;;) {
      const { value, done } = await lines.next();
      if (done) throw new Error("serve exited");
      const message = JSON.parse(value);
      if (match(message)) return message;
    }
  };
  try {
    send({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: {
        protocolVersion: "2025-06-18",
        capabilities: {},
        clientInfo: { name: "bench", version: "1" },
      },
    });
    await next((m) => m.id === 1);
    const initialize = performance.now() - started;
    send({ jsonrpc: "2.0", method: "notifications/initialized" });
    let id = 2;
    send({ jsonrpc: "2.0", id, method: "tools/list" });
    let listed = await next((m) => m.id === id);
    const toolsList = performance.now() - started;
    const allListed = (m: typeof listed) =>
      !m
        .result!.tools!.find((t: { name: string }) => t.name === "execute_code")!
        .description.includes("(0 tools)");
    while (!allListed(listed)) {
      await next((m) => m.method === "notifications/tools/list_changed");
      send({ jsonrpc: "2.0", id: ++id, method: "tools/list" });
      listed = await next((m) => m.id === id);
    }
    return { initialize, toolsList, allServers: performance.now() - started };
  } finally {
    child.kill("SIGKILL");
  }
}

function firstRun(program: string): { loaded: number; firstRun: number; allConnected: number } {
  const out = execFileSync(
    process.execPath,
    [join(import.meta.dirname, "first-run.ts"), JSON.stringify(servers), program],
    {
      encoding: "utf8",
    },
  );
  return JSON.parse(out.trim().split("\n").pop()!);
}

console.log(
  `core: ${process.env.BENCH_CORE_DIST ?? "this build (dist/)"}; servers: ${Object.keys(servers).join(", ")}${process.env.STARTUP_SLOW_MS ? ` (slow starts in ${process.env.STARTUP_SLOW_MS} ms)` : ""}`,
);
try {
  const serve = [];
  for (let i = 0; i < RUNS; i++) serve.push(await serveOnce());
  const noCall = [];
  const oneCall = [];
  for (let i = 0; i < RUNS; i++) {
    noCall.push(firstRun("return 1+1"));
    oneCall.push(firstRun("return (await memory.read_graph({})).entities.length"));
  }
  console.table({
    "serve (stdio): initialize answered": {
      "ms since spawn (median)": median(serve.map((s) => s.initialize)).toFixed(0),
    },
    "serve: first tools/list answered": {
      "ms since spawn (median)": median(serve.map((s) => s.toolsList)).toFixed(0),
    },
    "serve: every server's tools listed (list_changed)": {
      "ms since spawn (median)": median(serve.map((s) => s.allServers)).toFixed(0),
    },
    "first execution, no server called": {
      "ms since spawn (median)": median(noCall.map((r) => r.firstRun)).toFixed(0),
    },
    "first execution, one server called (memory)": {
      "ms since spawn (median)": median(oneCall.map((r) => r.firstRun)).toFixed(0),
    },
    "every server's first start done (start())": {
      "ms since spawn (median)": median(noCall.map((r) => r.allConnected)).toFixed(0),
    },
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
