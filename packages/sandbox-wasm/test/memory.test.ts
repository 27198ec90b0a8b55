import { ErrorCodes, hasErrorCode, type SandboxSession } from "@mcp-optimizer/core";
import { afterAll, expect, test } from "vitest";
import { createWasmSandbox } from "../src/index.js";
import { host, job } from "./helpers.js";

const sandbox = createWasmSandbox({ poolSize: 1 });
afterAll(async () => {
  await sandbox.close();
});

// 1,000 executions with guests ended (session ends, memory bombs, timeouts) along the way:
// the host's memory stays bounded and no thread is left behind. Measured, with a generous bound.
test("host memory stays bounded over 1,000 executions with periodic kills", async () => {
  let session: SandboxSession = await sandbox.open();
  const execute = (code: string, extra = {}) => session.execute(job(code, extra), host);
  for (let i = 0; i < 50; i++) await execute("return 1"); // warm-up
  const before = process.memoryUsage().rss;
  let failures = 0;
  for (let i = 1; i <= 1000; i++) {
    if (i % 25 === 0) {
      await session.close();
      session = await sandbox.open();
    }
    if (i % 100 === 10) {
      const error = await execute("const a = []; while (true) a.push(new Array(1e5).fill(1));", {
        maxMemoryMb: 16,
        timeoutMs: 30_000,
      }).catch((e: unknown) => e);
      expect(hasErrorCode(error, ErrorCodes.SANDBOX_MEMORY)).toBe(true);
      failures++;
      continue;
    }
    if (i % 100 === 60) {
      await expect(execute("while (true) {}", { timeoutMs: 50 })).rejects.toMatchObject({
        code: ErrorCodes.SANDBOX_TIMEOUT,
      });
      failures++;
      continue;
    }
    const out = await execute(
      `state.n = ${i}; const r = await demo.echo({ i: ${i}, pad: "p".repeat(${i % 7} * 1000) }); console.log("run", r.i); return r.i`,
    );
    expect(out.value).toBe(i);
  }
  await session.close();
  const growthMb = (process.memoryUsage().rss - before) / 1024 / 1024;
  console.log(
    `host RSS growth ${growthMb.toFixed(1)} MB over 1,000 executions; ${sandbox.liveThreads()} threads live; ${JSON.stringify(sandbox.counters)}`,
  );
  expect(failures).toBe(20);
  expect(sandbox.counters.guestsStarted).toBeGreaterThanOrEqual(50);
  expect(growthMb).toBeLessThan(200);
  // The closed session's guest was given back: only the pool's threads are left.
  await expect
    .poll(() => sandbox.liveThreads(), { timeout: 10_000 })
    .toBeLessThanOrEqual(sandbox.settings.poolSize);
}, 240_000);
