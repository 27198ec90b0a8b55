import { statSync } from "node:fs";
import { ErrorCodes, loadPluginSandbox } from "@mcp-optimizer/core";
import { expect, test } from "vitest";
import { createWasmSandbox, defaultWasmPath } from "../src/index.js";
import { host, job } from "./helpers.js";

test("core loads this package for mode 'wasm' through createSandbox", async () => {
  const sandbox = await loadPluginSandbox("wasm", {
    timeoutMs: 5000,
    maxMemoryMb: 96,
    maxOutputBytes: 1024 * 1024,
    maxLogBytes: 16 * 1024,
  });
  try {
    expect(sandbox.mode).toBe("wasm");
    const caps = await sandbox.capabilities();
    expect(caps).toMatchObject({ mode: "wasm", available: true, isolation: "language" });
    expect(caps.details).toMatchObject({
      heapLimitMb: 96,
      network: "none",
      wasmBytes: statSync(defaultWasmPath()).size,
    });
    expect(String(caps.details.engine)).toMatch(/^quickjs \d{4}-\d{2}-\d{2}/);
    expect(String(caps.details.runtime)).toMatch(/V8 WebAssembly/);
    const session = await sandbox.open();
    expect((await session.execute(job("return 'loaded'"), host)).value).toBe("loaded");
    await session.close();
  } finally {
    await sandbox.close();
  }
});

test("a missing engine is SANDBOX_UNAVAILABLE with the fix, and capabilities say so", async () => {
  const sandbox = createWasmSandbox({ wasmPath: "/nonexistent/quickjs-runner.wasm" });
  const caps = await sandbox.capabilities();
  expect(caps.available).toBe(false);
  expect(caps.reason).toContain("not built");
  await expect(sandbox.open()).rejects.toMatchObject({
    code: ErrorCodes.SANDBOX_UNAVAILABLE,
    message: expect.stringContaining("pnpm --filter @mcp-optimizer/sandbox-wasm build"),
  });
  await sandbox.close();
});

test("bad options are INVALID_CONFIG", () => {
  expect(() => createWasmSandbox({ maxMemoryMb: 4 })).toThrow(
    expect.objectContaining({ code: ErrorCodes.INVALID_CONFIG }),
  );
  expect(() => createWasmSandbox({ poolSize: -1 })).toThrow(
    expect.objectContaining({ code: ErrorCodes.INVALID_CONFIG }),
  );
});

test("a closed sandbox refuses new sessions and reports pool stats", async () => {
  const sandbox = createWasmSandbox({ poolSize: 1 });
  await sandbox.warm();
  expect(sandbox.poolStats()).toEqual([{ mode: "wasm", idle: 1, active: 0 }]);
  const session = await sandbox.open();
  expect(sandbox.poolStats()[0]!.active).toBe(1);
  await sandbox.close();
  await sandbox.close();
  await expect(session.execute(job("return 1"), host)).rejects.toMatchObject({
    code: ErrorCodes.SANDBOX_UNAVAILABLE,
  });
  await expect(sandbox.open()).rejects.toMatchObject({ code: ErrorCodes.SANDBOX_UNAVAILABLE });
  expect(sandbox.liveThreads()).toBe(0);
});

test("an idle session gives its guest back and takes a fresh one on its next execution", async () => {
  const sandbox = createWasmSandbox({ poolSize: 0, idleTimeoutMs: 150 });
  try {
    const session = await sandbox.open();
    expect(sandbox.liveThreads()).toBe(0); // an open session holds nothing yet
    await session.execute(job("return 1"), host);
    expect((await session.execute(job("return 2"), host)).value).toBe(2);
    expect(sandbox.counters.guestsStarted).toBe(1);
    await expect.poll(() => sandbox.liveThreads(), { timeout: 5_000 }).toBe(0);
    expect((await session.execute(job("return 3"), host)).value).toBe(3);
    expect(sandbox.counters.guestsStarted).toBe(2);
  } finally {
    await sandbox.close();
  }
});
