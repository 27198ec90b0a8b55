/**
 * `pnpm bench` (second part): memoised read-only calls on a scenario where programs re-read
 * the same data across executions. A "dashboard" program runs 300 times against the real
 * filesystem MCP server over stdio: it lists a folder, reads three of twenty files (the
 * popular ones more often) and stats one; every 25th run writes a file, which drops the
 * server's cached results. Run without memo, with core's memory cache and with the Redis
 * cache (what replicas share). Prints hit rate, tool time and the plain-MCP tokens, which
 * must be the same with and without memo. Asserts nothing. Needs `pnpm build`.
 *
 *   node bench/memo.ts                  all runs
 *   BENCH_QUICK=1 node bench/memo.ts    fewer executions
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import {
  approximateTokenizer,
  type CallCache,
  createCallMemo,
  createMcpUpstream,
  createMemoryCallCache,
  createRedactor,
  ExecutionHost,
  Telemetry,
  ToolCatalog,
  ValidatorCache,
} from "@mcp-optimizer/core";
import { createRedisCallCache } from "../dist/index.js";
import { startRedis } from "./redis.ts";

const EXECUTIONS = process.env.BENCH_QUICK === "1" ? 100 : 300;
const require = createRequire(import.meta.url);
const filesystemBin = join(
  dirname(require.resolve("@modelcontextprotocol/server-filesystem/package.json")),
  "dist",
  "index.js",
);

/** A seeded generator: every configuration runs the same programs. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const quantile = (values: number[], q: number) =>
  values.length === 0
    ? Number.NaN
    : [...values].sort((a, b) => a - b)[
        Math.min(values.length - 1, Math.floor(q * values.length))
      ]!;

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

async function scenario(label: string, dir: string, cache: CallCache | undefined) {
  const upstream = createMcpUpstream({
    name: "files",
    server: { command: process.execPath, args: [filesystemBin, dir] },
  });
  await upstream.connect();
  const catalog = new ToolCatalog();
  catalog.update([{ name: "files", tools: await upstream.listTools() }]);
  const memo = cache
    ? createCallMemo({ cache, servers: { files: { ttlMs: 300_000 } } })
    : undefined;
  const deps = {
    catalog,
    upstreams: new Map([["files", upstream]]),
    redactor: createRedactor([]),
    audit: [],
    telemetry: new Telemetry({ metrics: false, traces: false }),
    tokenizer: () => approximateTokenizer,
    retry: {},
    validators: new ValidatorCache(),
    auditArguments: false,
    ...(memo ? { memo } : {}),
  };
  const next = random(42);
  const hit: number[] = [];
  const miss: number[] = [];
  const perExecution: number[] = [];
  let plainTokens = 0;
  let memoisable = 0;
  let hits = 0;
  const started = performance.now();
  for (let i = 0; i < EXECUTIONS; i++) {
    const host = new ExecutionHost(
      deps,
      { executionId: `e${i}`, sessionId: `s${i % 10}`, tenant: "acme", actor: "bench", allow: {} },
      Date.now() + 30_000,
    );
    const t0 = performance.now();
    await host.callTool("files", "list_directory", { path: dir });
    for (let k = 0; k < 3; k++) {
      // Popular files more often: the square of a uniform draw leans to the low numbers.
      const n = Math.floor(next() ** 2 * 20);
      await host.callTool("files", "read_text_file", { path: join(dir, `report-${n}.md`) });
    }
    await host.callTool("files", "get_file_info", {
      path: join(dir, `report-${Math.floor(next() * 20)}.md`),
    });
    if (i % 25 === 24) {
      await host.callTool("files", "write_file", {
        path: join(dir, "notes.md"),
        content: `run ${i}\n`,
      });
    }
    perExecution.push(performance.now() - t0);
    plainTokens += await host.plainMcpCallTokens();
    for (const c of host.toolCalls) {
      if (c.tool === "write_file") continue;
      memoisable++;
      if (c.cached) {
        hits++;
        hit.push(c.durationMs);
      } else miss.push(c.durationMs);
    }
  }
  const totalMs = performance.now() - started;
  await memo?.close();
  await upstream.close();
  return {
    label,
    row: {
      "hit rate": memo ? `${((hits / memoisable) * 100).toFixed(1)}%` : "-",
      "call p50, hit": hit.length ? `${quantile(hit, 0.5).toFixed(3)} ms` : "-",
      "call p50, to the upstream": `${quantile(miss, 0.5).toFixed(3)} ms`,
      "call mean, hit / upstream": `${hit.length ? mean(hit).toFixed(3) : "-"} / ${mean(miss).toFixed(3)} ms`,
      "tool time per execution, mean": `${(perExecution.reduce((a, b) => a + b, 0) / perExecution.length).toFixed(2)} ms`,
      "all executions": `${totalMs.toFixed(0)} ms`,
      "plain-MCP tokens": String(plainTokens),
    },
  };
}

const dir = mkdtempSync(join(tmpdir(), "mcpo-memo-bench-"));
for (let n = 0; n < 20; n++) {
  writeFileSync(
    join(dir, `report-${n}.md`),
    `# Report ${n}\n${"A line of the report.\n".repeat(400)}`,
  );
}
const redis = process.env.REDIS_URL
  ? { url: process.env.REDIS_URL, stop: () => {} }
  : await startRedis();
try {
  const rows: Record<string, Record<string, string>> = {};
  for (const [label, cache] of [
    ["no memo", undefined],
    ["memo, memory cache", createMemoryCallCache()],
    ["memo, Redis cache", createRedisCallCache({ url: redis.url, prefix: "bench-memo:" })],
  ] as const) {
    rmSync(join(dir, "notes.md"), { force: true }); // every configuration starts from the same files
    const r = await scenario(label, dir, cache);
    rows[r.label] = r.row;
  }
  console.log(
    `memoised read-only calls: ${EXECUTIONS} executions of a dashboard program (server-filesystem, stdio; 5 reads each, a write every 25th)`,
  );
  console.table(rows);
} finally {
  redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
