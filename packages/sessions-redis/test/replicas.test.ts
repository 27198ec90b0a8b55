import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { ErrorCodes, sessionData } from "@mcp-optimizer/core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createRedisSessionStore, type RedisSessionStore } from "../src/index.js";
import { RedisServer } from "./redis-server.js";

// Replicas are real processes (test/fixtures/replica.mjs): core's engine on the Redis store,
// each with its own server-memory upstream, all running programs on one session.

const INCREMENT = "await memory.read_graph({}); state.n = (state.n ?? 0) + 1; return state.n;";
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Outcome {
  ok?: number;
  error?: string;
  message?: string;
  ready?: boolean;
  done?: boolean;
}

interface Replica {
  child: ChildProcess;
  outcomes: Outcome[];
  ready: Promise<void>;
  done: Promise<void>;
  stop(): void;
}

let dir: string;
const children: ChildProcess[] = [];

function startReplica(settings: Record<string, unknown>): Replica {
  const child = spawn(process.execPath, [join(import.meta.dirname, "fixtures", "replica.mjs")], {
    env: {
      PATH: process.env.PATH ?? "",
      MCPO_REPLICA: JSON.stringify({
        memoryFile: join(dir, `graph-${children.length}.jsonl`),
        ...settings,
      }),
    },
    stdio: ["pipe", "pipe", "pipe"],
  });
  children.push(child);
  const outcomes: Outcome[] = [];
  let stderr = "";
  child.stderr!.on("data", (chunk) => {
    stderr += chunk;
  });
  let onReady: () => void = () => {};
  let onDone: () => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    onReady = resolve;
    child.once("exit", (code) =>
      reject(new Error(`replica exited (${code}) before ready: ${stderr}`)),
    );
  });
  const done = new Promise<void>((resolve) => {
    onDone = resolve;
  });
  createInterface({ input: child.stdout! }).on("line", (line) => {
    const outcome = JSON.parse(line) as Outcome;
    if (outcome.ready) onReady();
    else if (outcome.done) onDone();
    else outcomes.push(outcome);
  });
  return { child, outcomes, ready, done, stop: () => child.stdin!.write("stop\n") };
}

const oks = (replicas: Replica[]) =>
  replicas.flatMap((r) => r.outcomes.filter((o) => o.ok !== undefined).map((o) => o.ok!));
const errors = (replicas: Replica[]) =>
  replicas.flatMap((r) => r.outcomes.filter((o) => o.error !== undefined));

describe("replica processes sharing one Redis run one session's executions one at a time", () => {
  let server: RedisServer;
  let store: RedisSessionStore;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "mcpo-replicas-"));
    server = await RedisServer.start();
    store = createRedisSessionStore({ url: server.url, prefix: "rep:" });
  }, 60_000);

  afterAll(async () => {
    for (const child of children) child.kill("SIGKILL");
    await store?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("one process, 200 runs in flight on one session: state.n === 200, results 1..200 once each", async () => {
    const replica = startReplica({
      redisUrl: server.url,
      prefix: "rep:",
      sessionId: "one-process",
      code: INCREMENT,
      runs: 200,
      concurrency: 200,
    });
    await replica.done;
    expect(errors([replica])).toEqual([]);
    expect(oks([replica]).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 200 }, (_, i) => i + 1),
    );
    const record = await store.get("one-process");
    expect(record!.state).toEqual({ n: 200 });
    expect(record!.counters.executions).toBe(200);
  }, 180_000);

  test("4 replicas x 8 in flight, 200 runs: state.n equals the acknowledged count, counters agree", async () => {
    const replicas = Array.from({ length: 4 }, () =>
      startReplica({
        redisUrl: server.url,
        prefix: "rep:",
        sessionId: "shared",
        code: INCREMENT,
        runs: 50,
        concurrency: 8,
      }),
    );
    await Promise.all(replicas.map((r) => r.ready));
    await Promise.all(replicas.map((r) => r.done));
    const acknowledged = oks(replicas);
    const failed = errors(replicas);
    expect(acknowledged.length + failed.length).toBe(200);
    // Default settings: waiting for the turn, nearly every run gets it.
    expect(acknowledged.length, JSON.stringify(failed.slice(0, 3))).toBeGreaterThanOrEqual(198);
    // What failed, failed before running: SESSION_BUSY only.
    expect(failed.every((f) => f.error === ErrorCodes.SESSION_BUSY)).toBe(true);
    // Each acknowledged run saw the one before it: the values are 1..n, each once.
    expect([...acknowledged].sort((a, b) => a - b)).toEqual(
      Array.from({ length: acknowledged.length }, (_, i) => i + 1),
    );
    const record = await store.get("shared");
    expect(record!.state).toEqual({ n: acknowledged.length });
    expect(record!.counters.executions).toBe(acknowledged.length);
  }, 180_000);

  test("a replica killed (SIGKILL) while holding the lease: the others go on after the TTL; its late save is refused", async () => {
    const lease = { ttlMs: 1500 };
    const holder = startReplica({
      redisUrl: server.url,
      prefix: "rep:",
      sessionId: "crash",
      code: "await memory.read_graph({}); await new Promise((r) => setTimeout(r, 60000)); state.n = 999; return 0;",
      runs: 1,
      lease,
    });
    await holder.ready;
    let held: string | null = null;
    for (let i = 0; i < 200 && !held; i++) {
      held = (await store.client.get("rep:l:{crash}")) as string | null;
      if (!held) await wait(50);
    }
    expect(held, "the holder took the lease").toMatch(/^\d+ \S+$/);
    holder.child.kill("SIGKILL");
    const killedAt = Date.now();

    const others = Array.from({ length: 2 }, () =>
      startReplica({
        redisUrl: server.url,
        prefix: "rep:",
        sessionId: "crash",
        code: INCREMENT,
        runs: 20,
        concurrency: 2,
        lease,
      }),
    );
    await Promise.all(others.map((r) => r.done));
    expect(errors(others)).toEqual([]);
    expect(oks(others).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    // The lease lapsed by itself: the first of the others waited for its TTL.
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(1000);

    const record = (await store.get("crash"))!;
    expect(record.state).toEqual({ n: 40 });
    // The killed replica's save, arriving late with its old token, writes nothing.
    const [token, holderId] = held!.split(" ");
    await expect(
      store.update(
        "crash",
        record.version,
        { ...sessionData(record), state: { n: 999 } },
        { lease: { sessionId: "crash", token: Number(token), holder: holderId! }, release: true },
      ),
    ).rejects.toMatchObject({ code: ErrorCodes.SESSION_LEASE_LOST });
    expect((await store.get("crash"))!.state).toEqual({ n: 40 });
  }, 120_000);

  test("Redis killed and restarted from its AOF under this load: no acknowledged update lost", async () => {
    const replicas = Array.from({ length: 4 }, () =>
      startReplica({
        redisUrl: server.url,
        prefix: "rep:",
        sessionId: "aof",
        code: INCREMENT,
        runs: 0,
        concurrency: 4,
      }),
    );
    await Promise.all(replicas.map((r) => r.ready));
    const until = async (check: () => boolean, what: string) => {
      const deadline = Date.now() + 60_000;
      while (!check()) {
        if (Date.now() > deadline) throw new Error(`${what} did not happen within 60 s`);
        await wait(50);
      }
    };
    await until(() => oks(replicas).length >= 100, "load");
    await server.kill("SIGKILL");
    await wait(800);
    const beforeRestart = oks(replicas).length;
    await server.launch();
    await until(() => oks(replicas).length >= beforeRestart + 100, "load after the restart");
    for (const r of replicas) r.stop();
    await Promise.all(replicas.map((r) => r.done));

    const acknowledged = oks(replicas).length;
    const uncertain = errors(replicas).length;
    const n = (await store.get("aof"))!.state.n as number;
    expect(n, "every acknowledged update survived").toBeGreaterThanOrEqual(acknowledged);
    expect(n, "nothing was applied that nobody asked for").toBeLessThanOrEqual(
      acknowledged + uncertain,
    );
    // Acknowledged values are distinct: no two runs saw the same state.
    expect(new Set(oks(replicas)).size).toBe(acknowledged);
  }, 180_000);
});
