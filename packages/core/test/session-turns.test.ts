import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ErrorCodes, MCPOptimizer, MemorySessionStore } from "../src/index.js";
import { memoryServer } from "./helpers/servers.js";

/** A program whose read-modify-write of `state` spans an awaited tool call. */
const INCREMENT = `await memory.read_graph({}); state.n = (state.n ?? 0) + 1; return state.n;`;

describe("executions of one session take turns (memory store, process sandbox)", () => {
  let dir: string;
  let optimizer: MCPOptimizer;
  const sessions = new MemorySessionStore();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "mcpo-turns-"));
    optimizer = new MCPOptimizer({
      sandboxConfig: { mode: "process", maxExecutionTime: 20_000 },
      mcpServers: { memory: memoryServer(join(dir, "graph.jsonl")) },
      sessions,
      sessionLease: { waitMs: 120_000 },
    });
    await optimizer.start();
  }, 60_000);

  afterAll(async () => {
    await optimizer?.close();
    await sessions.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("200 concurrent runs with an awaited tool call: every update kept, each result once", async () => {
    const results = await Promise.all(
      Array.from({ length: 200 }, () => optimizer.run(INCREMENT, { sessionId: "hot" })),
    );
    const values = results.map((r) => r.value as number).sort((a, b) => a - b);
    expect(values).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    const record = await sessions.get("hot");
    expect(record!.state).toEqual({ n: 200 });
    expect(record!.counters.executions).toBe(200);
    expect(record!.counters.toolCalls).toBe(200);
  }, 180_000);

  test("two callers each running 100 in sequence on one session end at 200", async () => {
    const caller = async () => {
      for (let i = 0; i < 100; i++) await optimizer.run(INCREMENT, { sessionId: "pair" });
    };
    await Promise.all([caller(), caller()]);
    expect((await sessions.get("pair"))!.state).toEqual({ n: 200 });
  }, 180_000);

  test("runs start in order of arrival", async () => {
    const program = (i: number) =>
      `await memory.read_graph({}); state.order = [...(state.order ?? []), ${i}]; return ${i};`;
    // Compiled first, so that the order the runs reach the queue is the order they were made in.
    const runs: Promise<unknown>[] = [];
    for (let i = 0; i < 20; i++) {
      runs.push(optimizer.run(program(i), { sessionId: "ordered" }));
      await new Promise((r) => setTimeout(r, 5));
    }
    await Promise.all(runs);
    const order = (await sessions.get("ordered"))!.state.order;
    expect(order).toEqual(Array.from({ length: 20 }, (_, i) => i));
  }, 60_000);

  test("other sessions and reads never wait for a busy session", async () => {
    const slow = optimizer.run(
      "await new Promise((r) => setTimeout(r, 3000)); state.slow = true; return 1;",
      { sessionId: "slow" },
    );
    let slowDone = false;
    void slow.then(() => {
      slowDone = true;
    });
    await new Promise((r) => setTimeout(r, 200));
    const other = await optimizer.run("return 2", { sessionId: "other" });
    expect(other.value).toBe(2);
    await optimizer.search("graph");
    await optimizer.describe("memory.read_graph");
    await optimizer.capabilities();
    await sessions.list("default");
    expect(slowDone).toBe(false);
    expect((await slow).value).toBe(1);
  }, 30_000);
});

describe("a run that cannot get its turn in time", () => {
  let dir: string;
  let optimizer: MCPOptimizer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "mcpo-busy-"));
    optimizer = new MCPOptimizer({
      sandboxConfig: { mode: "process", maxExecutionTime: 20_000 },
      mcpServers: { memory: memoryServer(join(dir, "graph.jsonl")) },
      sessionLease: { waitMs: 300 },
    });
    await optimizer.start();
  }, 60_000);

  afterAll(async () => {
    await optimizer?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("fails with SESSION_BUSY before it runs: no tool is called, nothing is saved", async () => {
    const holder = optimizer.run(
      "await new Promise((r) => setTimeout(r, 2000)); state.holder = true; return 'held';",
      { sessionId: "busy" },
    );
    await new Promise((r) => setTimeout(r, 200));
    const error = await optimizer
      .run(
        `await memory.create_entities({ entities: [{ name: "late", entityType: "t", observations: [] }] });
         state.late = true; return 'late';`,
        { sessionId: "busy" },
      )
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toMatchObject({ code: ErrorCodes.SESSION_BUSY });
    expect((error as Error).message).toMatch(/300 ms/);
    expect((error as Error).message).toMatch(/sessionLease\.waitMs/);
    expect((await holder).value).toBe("held");
    const graph = await optimizer.run("return await memory.read_graph({})", { sessionId: "check" });
    expect(JSON.stringify(graph.value)).not.toContain("late");
    const record = await optimizer.sessions.get("busy");
    expect(record!.state).toEqual({ holder: true });
    expect(record!.counters.executions).toBe(1);
    // The session serves again once its turn is free.
    expect((await optimizer.run("return state.holder", { sessionId: "busy" })).value).toBe(true);
  }, 30_000);

  test("bad lease settings are a typed configuration error", () => {
    expect(() => new MCPOptimizer({ sessionLease: { ttlMs: 5 } })).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_CONFIG }),
    );
    expect(() => new MCPOptimizer({ sessionLease: { waitMs: -1 } })).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_CONFIG }),
    );
  });
});

describe("sandboxConfig.redisUrl is never ignored", () => {
  test("without @mcp-optimizer/sessions-redis installed, start() fails naming the package", async () => {
    // A child in which the package cannot be found, as in an install without it.
    const dir = mkdtempSync(join(tmpdir(), "mcpo-no-redis-"));
    const hook = join(dir, "hide.mjs");
    writeFileSync(
      hook,
      `import { registerHooks } from "node:module";
registerHooks({
  resolve(specifier, context, next) {
    if (specifier === "@mcp-optimizer/sessions-redis") {
      const error = new Error("Cannot find package '@mcp-optimizer/sessions-redis'");
      error.code = "ERR_MODULE_NOT_FOUND";
      throw error;
    }
    return next(specifier, context);
  },
});
`,
    );
    const script = `
      import { MCPOptimizer } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, "..", "dist", "index.js")).href)};
      const optimizer = new MCPOptimizer({ sandboxConfig: { mode: "process", redisUrl: "redis://127.0.0.1:1" } });
      let before = "";
      try { optimizer.sessions; } catch (e) { before = e.message; }
      const error = await optimizer.start().then(() => undefined, (e) => e);
      await optimizer.close();
      console.log(JSON.stringify({ before, code: error?.code, message: error?.message }));`;
    const child = spawnSync(
      process.execPath,
      ["--import", pathToFileURL(hook).href, "--input-type=module", "-e", script],
      {
        encoding: "utf8",
        cwd: dir,
      },
    );
    rmSync(dir, { recursive: true, force: true });
    const out = JSON.parse(child.stdout.trim().split("\n").pop()!) as Record<string, string>;
    expect(out.before).toMatch(/start\(\)/);
    expect(out.code).toBe(ErrorCodes.SESSION_STORE_UNAVAILABLE);
    expect(out.message).toMatch(/pnpm add @mcp-optimizer\/sessions-redis/);
  });

  test("both a store and redisUrl is a configuration error", () => {
    expect(
      () =>
        new MCPOptimizer({
          sessions: new MemorySessionStore(),
          sandboxConfig: { redisUrl: "redis://127.0.0.1:6379" },
        }),
    ).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_CONFIG }));
  });
});
