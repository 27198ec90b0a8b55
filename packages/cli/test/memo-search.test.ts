import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cli, freePort, tempDir, writeServersConfig } from "./helpers.js";

let redis: ChildProcess | undefined;
let port: number;

beforeAll(async () => {
  if (spawnSync("redis-server", ["--version"]).error) {
    throw new Error(
      "redis-server is not installed: apt-get install redis-server (see .ci/setup/20-redis.sh)",
    );
  }
  port = await freePort();
  redis = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", ""], {
    stdio: "ignore",
  });
  for (let i = 0; ; i++) {
    const ping = spawnSync("redis-cli", ["-p", String(port), "ping"], { encoding: "utf8" });
    if (ping.stdout?.trim() === "PONG") break;
    if (i > 50) throw new Error(`redis-server on port ${port} did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
});
afterAll(() => {
  redis?.kill("SIGTERM");
});

/** The helpers' config with `memo` on the memory server, and more top-level sections. */
function memoConfig(dir: string, extra: Record<string, unknown> = {}): string {
  const file = writeServersConfig(dir, extra);
  const config = JSON.parse(readFileSync(file, "utf8"));
  config.mcpServers.memory.memo = { ttlMs: 60_000 };
  writeFileSync(file, JSON.stringify(config));
  return file;
}

const READ_TWICE = "await memory.read_graph({}); await memory.read_graph({}); return 1;";

describe("memo in the config", () => {
  test("a server with memo: the repeated read is answered from the cache and says so", async () => {
    const config = memoConfig(tempDir("mcpo-memo-"));
    const r = await cli(["run", "-", "--json", "--config", config], { input: READ_TWICE });
    expect(r.code, r.stderr).toBe(0);
    const calls = JSON.parse(r.stdout).toolCalls;
    expect(calls[0].cached).toBeUndefined();
    expect(calls[1]).toMatchObject({ tool: "read_graph", cached: true });
    // Without memo, both calls reach the server.
    const plain = writeServersConfig(tempDir("mcpo-memo-off-"));
    const off = await cli(["run", "-", "--json", "--config", plain], { input: READ_TWICE });
    expect(JSON.parse(off.stdout).toolCalls.map((c: { cached?: boolean }) => c.cached)).toEqual([
      undefined,
      undefined,
    ]);
  });

  test("with sessions in Redis, two processes share memoised results (replicas)", async () => {
    const dir = tempDir("mcpo-memo-redis-");
    const config = memoConfig(dir, {
      sessions: { redisUrl: `redis://127.0.0.1:${port}`, keyPrefix: "memo-cli:" },
    });
    const once = "return (await memory.read_graph({})).entities.length;";
    const first = await cli(["run", "-", "--json", "--config", config], { input: once });
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout).toolCalls[0].cached).toBeUndefined();
    const second = await cli(["run", "-", "--json", "--config", config], { input: once });
    expect(JSON.parse(second.stdout).toolCalls[0]).toMatchObject({ cached: true });
    const keys = spawnSync(
      "redis-cli",
      ["-p", String(port), "--scan", "--pattern", "memo-cli:m:*"],
      {
        encoding: "utf8",
      },
    ).stdout;
    expect(keys).toContain("memo-cli:m:{");
  });

  test("a wrong memo setting is named with the file", async () => {
    const dir = tempDir("mcpo-memo-bad-");
    const file = writeServersConfig(dir);
    const config = JSON.parse(readFileSync(file, "utf8"));
    config.mcpServers.memory.memo = { ttl: 5 };
    writeFileSync(file, JSON.stringify(config));
    const r = await cli(["search", "graph", "--config", file]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("mcpServers.memory");
  });
});

describe("search in the config", () => {
  test("learned from use goes to Redis with the sessions; search.embeddings is validated", async () => {
    const dir = tempDir("mcpo-search-");
    const config = memoConfig(dir, {
      sessions: { redisUrl: `redis://127.0.0.1:${port}`, keyPrefix: "learn-cli:", tenant: "acme" },
    });
    const program = `const hits = await mcp.search("read the whole knowledge graph", { limit: 5 });
      await memory.read_graph({}); return hits.length;`;
    const r = await cli(["run", "-", "--json", "--config", config], { input: program });
    expect(r.code, r.stderr).toBe(0);
    await new Promise((res) => setTimeout(res, 200));
    const keys = spawnSync(
      "redis-cli",
      ["-p", String(port), "--scan", "--pattern", "learn-cli:u:*"],
      {
        encoding: "utf8",
      },
    ).stdout;
    expect(keys).toContain("learn-cli:u:{");

    const bad = writeServersConfig(tempDir("mcpo-search-bad-"), {
      search: { embeddings: { url: "http://127.0.0.1:9/v1" } },
    });
    const b = await cli(["search", "graph", "--config", bad]);
    expect(b.code).toBe(3);
    expect(b.stderr).toContain("search.embeddings");
  });
});
