import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cli, freePort, tempDir, writeServersConfig } from "./helpers.js";

let redis: ChildProcess | undefined;
let dir: string;
let config: string;

beforeAll(async () => {
  if (spawnSync("redis-server", ["--version"]).error) {
    throw new Error(
      "redis-server is not installed: apt-get install redis-server (see .ci/setup/20-redis.sh)",
    );
  }
  const port = await freePort();
  redis = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    {
      stdio: "ignore",
    },
  );
  for (let i = 0; ; i++) {
    const ping = spawnSync("redis-cli", ["-p", String(port), "ping"], { encoding: "utf8" });
    if (ping.stdout?.trim() === "PONG") break;
    if (i > 50) throw new Error(`redis-server on port ${port} did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
  dir = tempDir("mcpo-sessions-");
  config = writeServersConfig(dir, {
    sessions: {
      redisUrl: "redis://127.0.0.1:${MCPO_TEST_REDIS_PORT}",
      keyPrefix: "clitest:",
      tenant: "acme",
    },
  });
  process.env.MCPO_TEST_REDIS_PORT = String(port);
});

afterAll(() => {
  redis?.kill("SIGTERM");
});

const env = () => ({ MCPO_TEST_REDIS_PORT: process.env.MCPO_TEST_REDIS_PORT });

describe("sessions, in Redis", () => {
  test("run --session persists state; list, show and delete see it from other processes", async () => {
    const first = await cli(["run", "-", "--session", "s-one", "--config", config], {
      env: env(),
      input: "state.count = (state.count ?? 0) + 1; return state.count;",
    });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout.trim()).toBe("1");
    const second = await cli(["run", "-", "--session", "s-one", "--config", config], {
      env: env(),
      input:
        "state.count = (state.count ?? 0) + 1; await memory.read_graph({}); return state.count;",
    });
    expect(second.stdout.trim()).toBe("2");
    await cli(["run", "-", "--session", "s-two", "--config", config], {
      env: env(),
      input: "return 0",
    });

    const list = await cli(["sessions", "list", "--json", "--config", config], { env: env() });
    expect(list.code, list.stderr).toBe(0);
    const listed = JSON.parse(list.stdout) as {
      tenant: string;
      store: string;
      sessions: { id: string }[];
    };
    expect(listed.tenant).toBe("acme");
    expect(listed.store).toBe("redis");
    expect(listed.sessions.map((s) => s.id).sort()).toEqual(["s-one", "s-two"]);
    const table = await cli(["sessions", "list", "--config", config], { env: env() });
    expect(table.stdout).toMatch(/^s-one\s+acme\s+\d+/m);

    const show = await cli(["sessions", "show", "s-one", "--json", "--config", config], {
      env: env(),
    });
    const record = JSON.parse(show.stdout);
    expect(record).toMatchObject({ id: "s-one", tenant: "acme", state: { count: 2 } });
    expect(record.counters).toMatchObject({ executions: 2, toolCalls: 1 });
    expect(record.log).toHaveLength(2);
    const human = await cli(["sessions", "show", "s-one", "--config", config], { env: env() });
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain('state: {"count":2}');

    const del = await cli(["sessions", "delete", "s-one", "--config", config], { env: env() });
    expect(del.code).toBe(0);
    expect(del.stderr).toContain("Deleted session s-one.");
    const gone = await cli(["sessions", "show", "s-one", "--config", config], { env: env() });
    expect(gone.code).toBe(5);
    expect(gone.stderr).toContain('No session "s-one"');
    const again = await cli(["sessions", "delete", "s-one", "--config", config], { env: env() });
    expect(again.code).toBe(5);
  });

  test("other tenants are separate; bad actions and ids are usage errors", async () => {
    const other = await cli(
      ["sessions", "list", "--tenant", "nobody", "--json", "--config", config],
      { env: env() },
    );
    expect(JSON.parse(other.stdout).sessions).toEqual([]);
    const action = await cli(["sessions", "purge", "--config", config], { env: env() });
    expect(action.code).toBe(2);
    const noId = await cli(["sessions", "show", "--config", config], { env: env() });
    expect(noId.code).toBe(2);
    expect(noId.stderr).toContain("sessions show needs a session ID");
    const badId = await cli(["sessions", "show", "-x/../", "--config", config], { env: env() });
    expect(badId.code).toBe(2);
  });

  test("an unreachable Redis is exit 4 with the store's message", async () => {
    const port = await freePort();
    const file = join(dir, "dead-redis.json");
    writeFileSync(
      file,
      JSON.stringify({ mcpServers: {}, sessions: { redisUrl: `redis://127.0.0.1:${port}` } }),
    );
    const r = await cli(["sessions", "list", "--config", file]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain("SESSION_STORE_UNAVAILABLE");
    // serve and capabilities check the store at start: exit 4, naming the address.
    for (const command of [["serve"], ["capabilities"]]) {
      const started = await cli([...command, "--config", file], { input: "" });
      expect(started.code, started.stderr).toBe(4);
      expect(started.stderr).toContain(`127.0.0.1:${port}`);
      expect(started.stderr).toMatch(/unreachable/);
    }
  });

  test("a Redis that refuses the password says authentication failed (exit 4), not unreachable", async () => {
    const port = await freePort();
    const guarded = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--requirepass", "s3cret-pw"],
      { stdio: "ignore" },
    );
    try {
      for (let i = 0; ; i++) {
        const ping = spawnSync("redis-cli", ["-p", String(port), "-a", "s3cret-pw", "ping"], {
          encoding: "utf8",
        });
        if (ping.stdout?.trim() === "PONG") break;
        if (i > 50) throw new Error(`redis-server on port ${port} did not start`);
        await new Promise((r) => setTimeout(r, 100));
      }
      for (const url of [`redis://127.0.0.1:${port}`, `redis://:wrong-pw@127.0.0.1:${port}`]) {
        const file = join(dir, "guarded-redis.json");
        writeFileSync(file, JSON.stringify({ mcpServers: {}, sessions: { redisUrl: url } }));
        const r = await cli(["capabilities", "--config", file]);
        expect(r.code, r.stderr).toBe(4);
        expect(r.stderr).toMatch(/refused authentication/);
        expect(r.stderr).not.toMatch(/unreachable/);
        expect(r.stderr).not.toContain("wrong-pw");
      }
    } finally {
      guarded.kill("SIGKILL");
    }
  });

  test("stats shows count, bytes, the oldest and entries by kind; gc prunes what Redis expired; the size cap names itself", async () => {
    const cacheConfig = (name: string, ttlMs: number) => {
      const path = join(dir, name);
      writeFileSync(
        path,
        JSON.stringify({
          mcpServers: {},
          sandbox: { mode: "process" },
          sessions: {
            redisUrl: "redis://127.0.0.1:${MCPO_TEST_REDIS_PORT}",
            keyPrefix: "cachetest:",
            tenant: "gc",
            ttlMs,
            maxSessionBytes: 20_000,
          },
        }),
      );
      return path;
    };
    const file = cacheConfig("cache.json", 600_000);
    const shortLived = cacheConfig("cache-short.json", 1000);
    for (const session of ["keep-1", "keep-2"]) {
      const r = await cli(["run", "-", "--session", session, "--config", file], {
        env: env(),
        input: `state.blob = "x".repeat(3000); await context.set("note", "${session}"); return 1;`,
      });
      expect(r.code, r.stderr).toBe(0);
    }
    const stats = await cli(["sessions", "stats", "--json", "--config", file], { env: env() });
    expect(stats.code, stats.stderr).toBe(0);
    const body = JSON.parse(stats.stdout) as {
      kind: string;
      sessions: { count: number; bytes: number; oldest: { id: string; tenant: string } };
      entries: { byKind: Record<string, { count: number; bytes: number }> };
      limits: { maxSessionBytes: number };
    };
    expect(body.kind).toBe("redis");
    expect(body.sessions.count).toBe(2);
    expect(body.sessions.bytes).toBeGreaterThan(0);
    expect(body.sessions.oldest.tenant).toBe("gc");
    expect(body.entries.byKind.ctx).toEqual({ count: 1, bytes: JSON.stringify("keep-2").length });
    expect(body.limits.maxSessionBytes).toBe(20_000);
    const table = await cli(["sessions", "stats", "--config", file], { env: env() });
    expect(table.stdout).toMatch(/^entries: ctx\s+1\s+8\s/m);
    expect(table.stdout).toContain("20000 bytes (maxSessionBytes)");

    // A session with a TTL of 1 s: Redis expires it, gc prunes the tenant's listing of it.
    const brief = await cli(["run", "-", "--session", "brief", "--config", shortLived], {
      env: env(),
      input: "return 1",
    });
    expect(brief.code, brief.stderr).toBe(0);
    await new Promise((r) => setTimeout(r, 2000));
    const gc = await cli(["sessions", "gc", "--json", "--config", file], { env: env() });
    expect(gc.code, gc.stderr).toBe(0);
    expect(JSON.parse(gc.stdout).indexMembers).toBe(1);
    const again = await cli(["sessions", "gc", "--config", file], { env: env() });
    expect(again.stderr).toContain("pruned 0 dead listing member(s)");
    const listed = await cli(["sessions", "list", "--json", "--config", file], { env: env() });
    expect(JSON.parse(listed.stdout).sessions.map((x: { id: string }) => x.id)).toEqual([
      "keep-1",
      "keep-2",
    ]);

    const big = await cli(["run", "-", "--session", "big", "--config", file], {
      env: env(),
      input: `state.blob = "x".repeat(30000); return 1;`,
    });
    expect(big.code).toBe(1);
    expect(big.stderr).toContain("maxSessionBytes");
    expect(big.stderr).toContain("[SESSION_TOO_LARGE]");
    const usage = await cli(["sessions", "stats", "extra", "--config", file], { env: env() });
    expect(usage.code).toBe(2);
  });

  test("with in-memory sessions the command says there is nothing to see from here", async () => {
    const file = join(dir, "memory.json");
    writeFileSync(file, JSON.stringify({ mcpServers: {} }));
    const r = await cli(["sessions", "list", "--config", file]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("sessions are in memory");
  });
});
