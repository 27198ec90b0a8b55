import { ErrorCodes, type SandboxSession } from "@mcp-optimizer/core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createWasmSandbox, type WasmSandbox } from "../src/index.js";
import { cpuTicks, host, hostileWasm, job } from "./helpers.js";

// The host's defences against a guest that does not play by the protocol: a tiny C program
// (fixtures/hostile-runner.c) compiled to wasm32-wasi stands in for a compromised engine.
describe("a misbehaving guest", () => {
  let sandbox: WasmSandbox;
  let session: SandboxSession;
  const run = (code: string, extra = {}) => session.execute(job(code, extra), host);
  const alive = async () => expect((await run("fine")).value).toBe(1);

  beforeAll(async () => {
    // No pool: every guest start is one the tests caused.
    sandbox = createWasmSandbox({ wasmPath: hostileWasm(), poolSize: 0, killGraceMs: 200 });
    session = await sandbox.open({ sessionId: "hostile-runner" });
  });
  afterAll(async () => {
    await sandbox?.close();
  });

  test("a line that is not a frame is BRIDGE_PROTOCOL_ERROR; the guest is replaced", async () => {
    await alive();
    const before = sandbox.counters.guestsStarted;
    await expect(run("GARBAGE")).rejects.toMatchObject({
      code: ErrorCodes.BRIDGE_PROTOCOL_ERROR,
      message: expect.stringContaining("not a bridge frame"),
    });
    await alive();
    expect(sandbox.counters.guestsStarted).toBe(before + 1);
  });

  test("a line over the limit is SANDBOX_OUTPUT_LIMIT without buffering it all", async () => {
    await expect(run("FLOOD")).rejects.toMatchObject({ code: ErrorCodes.SANDBOX_OUTPUT_LIMIT });
    await alive();
  });

  test("a guest that never answers times out and is killed", async () => {
    const started = Date.now();
    await expect(run("NEVER", { timeoutMs: 300 })).rejects.toMatchObject({
      code: ErrorCodes.SANDBOX_TIMEOUT,
    });
    expect(Date.now() - started).toBeLessThan(3_000);
    await alive();
  });

  test("a guest spinning without system calls is stopped by terminating its thread", async () => {
    const started = Date.now();
    const killed = sandbox.counters.guestsKilled;
    await expect(run("SPIN", { timeoutMs: 300 })).rejects.toMatchObject({
      code: ErrorCodes.SANDBOX_TIMEOUT,
    });
    expect(Date.now() - started).toBeLessThan(3_000);
    await alive();
    // Its thread was terminated, and nothing in this process burns CPU afterwards.
    expect(sandbox.counters.guestsKilled).toBeGreaterThan(killed);
    await new Promise((r) => setTimeout(r, 500));
    const before = cpuTicks(process.pid);
    await new Promise((r) => setTimeout(r, 500));
    expect(cpuTicks(process.pid) - before).toBeLessThan(25); // clock ticks of 10 ms: well under one core
  });

  test("a guest that exits mid-run is SANDBOX_CRASHED", async () => {
    await expect(run("EXIT")).rejects.toMatchObject({ code: ErrorCodes.SANDBOX_CRASHED });
    await alive();
  });

  test("the last frame of a guest that exits right after it is not lost", async () => {
    // Output and exit travel in order on one channel: the last frame arrives before the exit.
    for (let i = 0; i < 15; i++) {
      const once = await sandbox.open();
      try {
        expect((await once.execute(job("BYE"), host)).value).toBe(2);
      } finally {
        await once.close();
      }
    }
  });

  test("a frame nested too deeply is refused before the host parses it; the guest is replaced", async () => {
    await alive();
    const before = sandbox.counters.guestsStarted;
    await expect(run("DEEP")).rejects.toMatchObject({
      code: ErrorCodes.BRIDGE_PROTOCOL_ERROR,
      message: expect.stringContaining("nested deeper than 1000 levels"),
    });
    await alive();
    expect(sandbox.counters.guestsStarted).toBe(before + 1);
  });

  test("output after a run's terminal frame, or with no run under way, replaces the guest", async () => {
    for (const code of ["TWICE", "AFTER", "LATER"]) {
      await alive();
      const before = sandbox.counters.guestsStarted;
      // The run's result stands (the first terminal frame); the guest does not serve again.
      expect((await run(code)).value).toBe(1);
      await new Promise((r) => setTimeout(r, 150));
      await alive();
      expect(sandbox.counters.guestsStarted).toBe(before + 1);
    }
  });

  test("a terminal frame written otherwise than the runner writes it replaces the guest", async () => {
    await alive();
    const before = sandbox.counters.guestsStarted;
    expect((await run("ORDER")).value).toBe(1);
    // Not left waiting for an end it does not recognise: the next run takes a fresh guest.
    await alive();
    expect(sandbox.counters.guestsStarted).toBe(before + 1);
  });

  test("one huge write is handed on in pieces and stopped at the output limit", async () => {
    // The guest's own 64 MiB is its memory; what reaches the host's heap stays a few pieces.
    const buffers = process.memoryUsage().arrayBuffers;
    await expect(run("HUGE")).rejects.toMatchObject({ code: ErrorCodes.SANDBOX_OUTPUT_LIMIT });
    expect(process.memoryUsage().arrayBuffers - buffers).toBeLessThan(16 * 1024 * 1024);
    await alive();
  });

  test("stderr noise is not a channel and does not break the run", async () => {
    expect((await run("STDERR")).value).toBe(1);
  });
});
