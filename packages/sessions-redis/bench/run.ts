/**
 * `pnpm bench`: the Redis session store beside core's memory store, in one run on one
 * machine. Prints figures; asserts nothing. Needs `pnpm build` first and redis-server on PATH
 * (a private instance is started on a free port; set REDIS_URL to use a running server).
 *
 *   node bench/run.ts                 all figures
 *   BENCH_QUICK=1 node bench/run.ts   fewer iterations
 */
import { cpus } from "node:os";
import {
  createMemorySessionStore,
  type SessionData,
  type SessionLogEntry,
  type SessionStore,
  sessionData,
} from "@mcp-optimizer/core";
import { createRedisSessionStore } from "../dist/index.js";
import { startRedis } from "./redis.ts";

const QUICK = process.env.BENCH_QUICK === "1";
const ROUND_TRIPS = QUICK ? 500 : 3000;
const THROUGHPUT_MS = QUICK ? 1000 : 3000;
const CONCURRENCY = 32;

function logEntry(i: number): SessionLogEntry {
  return {
    executionId: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
    at: new Date(1_767_225_600_000 + i * 1000).toISOString(),
    kind: "run",
    code: `const issues = await github.list_issues({ repo: "acme/app", state: "open" });\nreturn issues.filter((i) => i.labels.includes("bug")).length; // ${i}`,
    outcome: "ok",
    durationMs: 40 + i,
    mode: "process",
    toolCalls: [{ server: "github", tool: "list_issues", outcome: "ok", durationMs: 30 }],
    tokens: { used: 900, plainMcp: 14_000 },
  };
}

/** What a session looks like after some use: state, a file, a snippet, a log tail. */
function payload(size: "typical" | "large"): Partial<SessionData> {
  const logs = size === "typical" ? 10 : 100;
  return {
    tenant: "bench",
    state: {
      repo: "acme/app",
      cursor: "Y3Vyc29yOjQy",
      seen: Array.from({ length: size === "typical" ? 20 : 2000 }, (_, i) => `issue-${i}`),
    },
    files:
      size === "typical"
        ? { "notes.md": "# notes\n".repeat(20) }
        : { "report.md": "row | value\n".repeat(4000) },
    snippets: {
      bugs: {
        code: "return (await github.list_issues({})).length",
        updatedAt: new Date(0).toISOString(),
      },
    },
    log: Array.from({ length: logs }, (_, i) => logEntry(i)),
  };
}

interface Contender {
  name: string;
  /** A fresh store per measurement, closed after it: no cache or connection outlives its turn. */
  open: () => SessionStore;
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

/** One load+save: get, then a compare-and-set update of the counters and the log. */
async function roundTrip(store: SessionStore, id: string, i: number): Promise<void> {
  for (;;) {
    const record = (await store.get(id))!;
    const data = sessionData(record);
    try {
      await store.update(id, record.version, {
        ...data,
        log: [...data.log.slice(1), logEntry(i)],
        counters: { ...data.counters, executions: data.counters.executions + 1 },
      });
      return;
    } catch {}
  }
}

/**
 * One execution's store work since leases (ADR 0017): take the session's turn (the lease
 * script reads the session in the same step), then the fenced update that gives the lease back.
 */
async function leasedRoundTrip(store: SessionStore, id: string, i: number): Promise<void> {
  const { lease, record } = await store.acquireLease(id, { ttlMs: 15_000, waitMs: 30_000 });
  const data = sessionData(record!);
  await store.update(
    id,
    record!.version,
    {
      ...data,
      log: [...data.log.slice(1), logEntry(i)],
      counters: { ...data.counters, executions: data.counters.executions + 1 },
    },
    { lease, release: true },
  );
}

type RoundTrip = typeof roundTrip;

async function latency(
  store: SessionStore,
  id: string,
  trip: RoundTrip = roundTrip,
): Promise<{ median: number; p95: number }> {
  for (let i = 0; i < 50; i++) await trip(store, id, i);
  const times: number[] = [];
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const t = performance.now();
    await trip(store, id, i);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { median: pct(times, 50), p95: pct(times, 95) };
}

/**
 * Contention: `writers` executions in flight on ONE session, spread over two stores (two
 * replicas), each taking the turn: turns per second and the p50/p99 of the wait for it.
 */
async function contended(
  open: () => SessionStore,
  id: string,
  writers: number,
): Promise<{ perSecond: number; waitP50: number; waitP99: number; n: number; done: number }> {
  const replicas = [open(), open()];
  try {
    await replicas[0]!.create({ id, tenant: "bench", state: { n: 0 } });
    const waits: number[] = [];
    let done = 0;
    const started = performance.now();
    const until = started + THROUGHPUT_MS;
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        const store = replicas[w % 2]!;
        while (performance.now() < until) {
          const t = performance.now();
          const { lease, record } = await store.acquireLease(id, {
            ttlMs: 15_000,
            waitMs: 60_000,
          });
          waits.push(performance.now() - t);
          const data = sessionData(record!);
          await store.update(
            id,
            record!.version,
            { ...data, state: { n: (data.state.n as number) + 1 } },
            { lease, release: true },
          );
          done++;
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    // A third store reads it: a replica's eventual cache may still hold the last-but-one write.
    const reader = open();
    const n = (await reader.get(id))!.state.n as number;
    await reader.delete(id);
    await reader.close();
    waits.sort((a, b) => a - b);
    return {
      perSecond: done / elapsed,
      waitP50: pct(waits, 50),
      waitP99: pct(waits, 99),
      n,
      done,
    };
  } finally {
    await Promise.all(replicas.map((r) => r.close()));
  }
}

/** A load alone (what a cache saves): `get` of a session nobody else writes. */
async function readLatency(store: SessionStore, id: string): Promise<number> {
  for (let i = 0; i < 50; i++) await store.get(id);
  const times: number[] = [];
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const t = performance.now();
    await store.get(id);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return pct(times, 50);
}

async function throughput(store: SessionStore, ids: string[]): Promise<number> {
  let done = 0;
  const until = performance.now() + THROUGHPUT_MS;
  await Promise.all(
    ids.map(async (id, w) => {
      for (let i = 0; performance.now() < until; i++) {
        await roundTrip(store, id, w * 1_000_000 + i);
        done++;
      }
    }),
  );
  return done / (THROUGHPUT_MS / 1000);
}

async function main(): Promise<void> {
  const external = process.env.REDIS_URL;
  const redis = external ? { url: external, stop: () => {} } : await startRedis();
  const prefix = `bench-${process.pid}:`;
  const contenders: Contender[] = [
    { name: "memory (core)", open: () => createMemorySessionStore() },
    { name: "redis", open: () => createRedisSessionStore({ url: redis.url, prefix }) },
    {
      name: "redis + cache (strong)",
      open: () => createRedisSessionStore({ url: redis.url, prefix, cache: true }),
    },
    {
      name: "redis + cache (eventual)",
      open: () =>
        createRedisSessionStore({
          url: redis.url,
          prefix,
          cache: { consistency: "eventual" },
        }),
    },
  ];
  console.log(
    `sessions-redis bench: node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${external ? "REDIS_URL" : "private redis-server on loopback (AOF on)"}`,
  );
  console.log(
    `round trip = get + compare-and-set update; ${ROUND_TRIPS} sequential, then ${CONCURRENCY} concurrent sessions for ${THROUGHPUT_MS} ms\n`,
  );
  const rows: {
    size: string;
    name: string;
    median: number;
    p95: number;
    ops: number;
    bytes: number;
    load: number;
    leased: { median: number; p95: number };
  }[] = [];
  for (const size of ["typical", "large"] as const) {
    const data = payload(size);
    const bytes = Buffer.byteLength(JSON.stringify(data));
    for (const [ci, c] of contenders.entries()) {
      // Earlier contenders' caches and sessions are gone: each store is measured on its own
      // (with them kept, later stores' throughput fell by up to 5x from the heap and Redis
      // growth they left, which read as a cost of the cache).
      const store = c.open();
      const id = `lat-${size}-${ci}`;
      const ids = Array.from({ length: CONCURRENCY }, (_, i) => `ops-${size}-${ci}-${i}`);
      try {
        await store.create({ id, ...data });
        await Promise.all(ids.map((sid) => store.create({ id: sid, ...data })));
        const { median, p95 } = await latency(store, id);
        const leased = await latency(store, id, leasedRoundTrip);
        const load = await readLatency(store, id);
        const ops = await throughput(store, ids);
        rows.push({ size, name: c.name, median, p95, ops, bytes, load, leased });
        await Promise.all([id, ...ids].map((sid) => store.delete(sid)));
      } finally {
        await store.close();
      }
    }
  }
  const memory = (size: string) =>
    rows.find((r) => r.size === size && r.name.startsWith("memory"))!;
  const redisRow = (size: string) => rows.find((r) => r.size === size && r.name === "redis")!;
  console.log(
    "| session | store | load+save median | p95 | round trips/s | ops/s vs memory | median vs plain redis | load alone, median |",
  );
  console.log("|---|---|---:|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    console.log(
      `| ${r.size} (${(r.bytes / 1024).toFixed(1)} KiB JSON) | ${r.name} | ${r.median.toFixed(3)} ms | ${r.p95.toFixed(3)} ms | ${Math.round(r.ops).toLocaleString("en-US")} | ${(r.ops / memory(r.size).ops).toFixed(3)}× | ${r.name.startsWith("memory") ? "–" : `${(r.median / redisRow(r.size).median).toFixed(2)}×`} | ${r.load.toFixed(3)} ms |`,
    );
  }

  console.log(
    "\nAn execution's store work, uncontended: before leases (get + compare-and-set update) and with them (lease that reads + fenced update that releases).\n",
  );
  console.log("| session | store | before: median | with lease: median | p95 | ratio |");
  console.log("|---|---|---:|---:|---:|---:|");
  for (const r of rows) {
    console.log(
      `| ${r.size} | ${r.name} | ${r.median.toFixed(3)} ms | ${r.leased.median.toFixed(3)} ms | ${r.leased.p95.toFixed(3)} ms | ${(r.leased.median / r.median).toFixed(2)}× |`,
    );
  }

  console.log(
    `\nContended: executions in flight on ONE session over two stores (replicas), ${THROUGHPUT_MS} ms each; every turn is counted in state.n.\n`,
  );
  console.log("| store | in flight | turns/s | wait p50 | wait p99 | state.n = turns |");
  console.log("|---|---:|---:|---:|---:|---|");
  for (const c of contenders.filter((x) => !x.name.startsWith("memory"))) {
    for (const writers of [2, 8, 32]) {
      const r = await contended(c.open, `contended-${writers}-${c.name.length}`, writers);
      console.log(
        `| ${c.name} | ${writers} | ${Math.round(r.perSecond).toLocaleString("en-US")} | ${r.waitP50.toFixed(2)} ms | ${r.waitP99.toFixed(2)} ms | ${r.n === r.done ? "yes" : `no (${r.n} of ${r.done})`} |`,
      );
    }
  }
  redis.stop();
}

await main();
