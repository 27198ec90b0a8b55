import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { SandboxSession } from "@mcp-optimizer/core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  createDockerSandbox,
  type DockerSandbox,
  type DockerSandboxSession,
  removeSandboxContainers,
} from "../src/index.js";
import {
  containersOf,
  expectNoContainersLeft,
  job,
  nullHost,
  requireDocker,
  waitForContainers,
} from "./helpers.js";

/** The id of the container serving a session now, as the host knows it. */
const containerOf = (session: SandboxSession) => (session as DockerSandboxSession).containerId;

const DIST = fileURLToPath(new URL("../dist/index.js", import.meta.url));

/**
 * A host process that opens a session, runs `code` (not awaited when `hang`), prints its
 * sandbox's instance id, then waits to be killed.
 */
function hostProcess(
  code: string,
  hang: boolean,
): Promise<{ child: ChildProcess; instance: string }> {
  const script = `
    const { createDockerSandbox } = await import(${JSON.stringify(DIST)});
    const sandbox = createDockerSandbox({ poolSize: 1 });
    const session = await sandbox.open();
    const limits = { timeoutMs: 600000, maxMemoryMb: 128, maxOutputBytes: 1048576, maxLogBytes: 16384 };
    let reached;
    const started = new Promise((r) => { reached = r; });
    // A hanging program first calls signal.ready(), so the host knows it really is running.
    const program = ${hang} ? "await signal.ready({}); " + ${JSON.stringify(code)} : ${JSON.stringify(code)};
    const servers = [{ name: "signal", global: "signal", tools: ["ready"] }];
    const run = session.execute({ id: "crash", code: program, servers, state: {}, limits }, { call: async () => { reached(); return null; } });
    if (!${hang}) await run; else { run.catch(() => {}); await started; await new Promise((r) => setTimeout(r, 300)); }
    await sandbox.warm();
    console.log(JSON.stringify({ instance: sandbox.instance }));
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (line) resolve({ child, instance: (JSON.parse(line) as { instance: string }).instance });
    });
    child.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.on("exit", (code) =>
      reject(new Error(`host process exited (${code}) before it was ready: ${err}`)),
    );
  });
}

describe("container lifecycle (real engine)", () => {
  const sandboxes: DockerSandbox[] = [];
  const sessions: SandboxSession[] = [];
  const make = (options: Parameters<typeof createDockerSandbox>[0]) => {
    const s = createDockerSandbox(options);
    sandboxes.push(s);
    return s;
  };

  beforeAll(requireDocker);
  afterAll(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    await Promise.all(sandboxes.map((s) => s.close()));
    await expectNoContainersLeft();
  });

  test("a new session takes a pre-started container from the warm pool, which refills", async () => {
    const sandbox = make({ poolSize: 1 });
    await sandbox.warm();
    const pooled = (await containersOf(sandbox.instance)).map((c) => c.Id);
    expect(pooled).toHaveLength(1);
    expect((await sandbox.capabilities()).details.idleRunners).toBe(1);
    expect(sandbox.poolStats()).toEqual([{ mode: "docker", idle: 1, active: 0 }]);
    const session = await sandbox.open();
    sessions.push(session);
    await session.execute(job("return 1"), nullHost);
    expect(containerOf(session)).toBe(pooled[0]);
    await sandbox.warm();
    expect((await containersOf(sandbox.instance)).length).toBe(2);
    expect(sandbox.poolStats()).toEqual([{ mode: "docker", idle: 1, active: 1 }]);
  });

  test("a session keeps its container between executions; only state carries over", async () => {
    const sandbox = make({ poolSize: 0 });
    const session = await sandbox.open();
    sessions.push(session);
    const first = await session.execute(
      job("globalThis.kept = 41; state.kept = 41; return 1"),
      nullHost,
    );
    const firstId = containerOf(session);
    expect(firstId).toMatch(/^[0-9a-f]{64}$/);
    const second = await session.execute(
      job("return [typeof globalThis.kept, state.kept + 1]", { state: first.state }),
      nullHost,
    );
    expect(containerOf(session)).toBe(firstId);
    expect(second.value).toEqual(["undefined", 42]);
  });

  test("with nodeApis, every execution gets a container of its own", async () => {
    const sandbox = make({ poolSize: 0, nodeApis: true });
    const session = await sandbox.open();
    sessions.push(session);
    const idCode = `return process.getBuiltinModule("node:fs").readFileSync("/proc/self/mountinfo", "utf8").match(/containers\\/([0-9a-f]{64})\\//)[1]`;
    const first = await session.execute(job(idCode), nullHost);
    const second = await session.execute(job(idCode), nullHost);
    expect(first.value).toMatch(/^[0-9a-f]{64}$/);
    expect(second.value).not.toBe(first.value);
    expect((await sandbox.capabilities()).details).toMatchObject({ nodeApis: true });
  });

  test("a job with another memory limit gets a container sized for it", async () => {
    const sandbox = make({ poolSize: 0, nodeApis: true });
    const session = await sandbox.open();
    sessions.push(session);
    const heap =
      "return Math.round(process.getBuiltinModule('node:v8').getHeapStatistics().heap_size_limit / 1048576)";
    const small = await session.execute(job(heap), nullHost);
    const large = await session.execute(
      job(heap, { limits: { ...job("").limits, maxMemoryMb: 256 } }),
      nullHost,
    );
    expect(large.value as number).toBeGreaterThan(small.value as number);
    await waitForContainers(sandbox.instance, 0);
  });

  test("an idle session's container is reaped; the session still works", async () => {
    const sandbox = make({ poolSize: 0, idleTimeoutMs: 300 });
    const session = await sandbox.open();
    sessions.push(session);
    await session.execute(job("return 1"), nullHost);
    const before = containerOf(session);
    await waitForContainers(sandbox.instance, 1);
    await waitForContainers(sandbox.instance, 0, 5000);
    expect(containerOf(session)).toBeUndefined();
    await session.execute(job("return 2"), nullHost);
    expect(containerOf(session)).not.toBe(before);
  });

  test("close() removes every container: pool, sessions, and those of closed sessions", async () => {
    const sandbox = make({ poolSize: 2 });
    await sandbox.warm();
    const a = await sandbox.open();
    const b = await sandbox.open();
    await a.execute(job("return 1"), nullHost);
    await b.execute(job("return 1"), nullHost);
    await a.close();
    await sandbox.close();
    expect(await containersOf(sandbox.instance)).toEqual([]);
    await expect(b.execute(job("return 1"), nullHost)).rejects.toMatchObject({
      code: "SANDBOX_UNAVAILABLE",
    });
    await expect(sandbox.open()).rejects.toMatchObject({ code: "SANDBOX_UNAVAILABLE" });
  });

  describe("when the host process dies", () => {
    beforeAll(() => {
      if (!existsSync(DIST))
        throw new Error(`${DIST} is missing: run \`pnpm build\` first (turbo's test task does).`);
    });

    test("its containers see stdin close, exit and are removed by the engine", async () => {
      const { child, instance } = await hostProcess("return 1", false);
      expect((await containersOf(instance)).length).toBe(2); // the session's and the pool's
      child.kill("SIGKILL");
      await waitForContainers(instance, 0, 15_000);
    }, 30_000);

    test("a container stuck in a loop is removed by the next sandbox on this host (orphan reaping)", async () => {
      const { child, instance } = await hostProcess("for (;;) {}", true);
      child.kill("SIGKILL");
      await new Promise((r) => child.once("exit", r));
      // The pooled one exits by itself; the looping one cannot read its stdin's end.
      await waitForContainers(instance, 1, 15_000);
      const next = make({ poolSize: 0 });
      await next.open();
      expect(await containersOf(instance)).toEqual([]);
    }, 30_000);

    test("removeSandboxContainers cleans up by instance", async () => {
      const sandbox = createDockerSandbox({ poolSize: 1 });
      await sandbox.warm();
      expect(await removeSandboxContainers({ instance: sandbox.instance })).toBe(1);
      expect(await containersOf(sandbox.instance)).toEqual([]);
      await sandbox.close();
    });
  });
});
