import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ErrorCodes, MCPOptimizer } from "../src/index.js";

// A program that fires a flood of calls must not hold the host's event loop: calls refused at
// once (denied, past the deadline) once drained a long queue in one turn of microtasks, which
// held off the run's own deadline and every other session for a second and more.

const FAKE = join(import.meta.dirname, "fixtures", "fake-server.mjs");

/** The longest the event loop was held while `work` ran, in ms. */
async function longestStall<T>(work: () => Promise<T>): Promise<{ value: T; stallMs: number }> {
  let last = performance.now();
  let stallMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    stallMs = Math.max(stallMs, now - last - 20);
    last = now;
  }, 20);
  try {
    return { value: await work(), stallMs };
  } finally {
    clearInterval(timer);
  }
}

describe("a flood of tool calls through the engine", () => {
  let optimizer: MCPOptimizer;
  beforeAll(async () => {
    optimizer = new MCPOptimizer({
      sandboxConfig: { mode: "process", maxExecutionTime: 3000 },
      mcpServers: { fake: { command: process.execPath, args: [FAKE] } },
      sessionDefaults: { allow: { tools: ["fake.echo"] } },
    });
    await optimizer.start();
    await optimizer.run("return 1");
  }, 60_000);
  afterAll(() => optimizer?.close());

  test.each([
    [
      "refused at once (a denied tool)",
      "fake.big({ bytes: 1 })",
      [ErrorCodes.TOOL_DENIED, ErrorCodes.SANDBOX_TIMEOUT],
    ],
    ["answered (until the deadline)", 'fake.echo({ text: "x" })', [ErrorCodes.SANDBOX_TIMEOUT]],
  ])(
    "%s: the run ends by its deadline, the loop is never held, a peer runs meanwhile",
    async (_label, call, codes) => {
      const peer = (async () => {
        await new Promise((r) => setTimeout(r, 300));
        const started = performance.now();
        await optimizer.run("return 2", { sessionId: "flood-peer" });
        return performance.now() - started;
      })();
      const { value, stallMs } = await longestStall(async () => {
        const started = performance.now();
        const error = await optimizer
          .run(
            `const all = []; for (let i = 0; i < 100000; i++) all.push(${call}); await Promise.all(all); return "all"`,
            { sessionId: "flood" },
          )
          .catch((e: unknown) => e);
        return { error, ms: performance.now() - started };
      });
      expect(codes).toContain((value.error as { code?: string }).code);
      // Before: 4.3 s for a 3 s limit (the deadline waited behind the drained queue).
      expect(value.ms).toBeLessThan(3000 + 800);
      // A queue drained in one turn held the loop for up to 1.1 s here; now under 0.1 s.
      expect(stallMs).toBeLessThan(500);
      expect(await peer).toBeLessThan(1500);
      expect(await optimizer.run("return 3", { sessionId: "flood" })).toMatchObject({ value: 3 });
    },
    60_000,
  );
});
