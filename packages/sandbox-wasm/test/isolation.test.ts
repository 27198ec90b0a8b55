import { readdirSync, readFileSync } from "node:fs";
import { isErrorCode, type SandboxSession } from "@mcp-optimizer/core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createWasmSandbox, type WasmSandbox } from "../src/index.js";
import { host, job } from "./helpers.js";

/** Scheduling priorities (nice) of this process's worker threads, by thread id. */
function workerPriorities(): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      if (readFileSync(`/proc/self/task/${tid}/comm`, "utf8").trim() !== "WorkerThread") continue;
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
      out.set(tid, Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]));
    } catch {
      // ended meanwhile
    }
  }
  return out;
}

/** Rejects with the error, or fails the test when the run succeeded. */
async function failure(run: Promise<unknown>): Promise<unknown> {
  return run.then(
    (outcome) => {
      throw new Error(`expected the run to fail, it returned ${JSON.stringify(outcome)}`);
    },
    (error: unknown) => error,
  );
}

// One session's misbehaviour must not reach another: guests are WebAssembly instances on
// threads of their own, a deadline stops only the guest that overran, and a guest that has
// to be killed takes nothing else with it.
describe("sessions are isolated from each other's failures", () => {
  let sandbox: WasmSandbox;
  let spinner: SandboxSession;
  let peer: SandboxSession;

  beforeAll(async () => {
    sandbox = createWasmSandbox({ poolSize: 2 });
    spinner = await sandbox.open({ sessionId: "spinner" });
    peer = await sandbox.open({ sessionId: "peer" });
  });
  afterAll(async () => {
    await sandbox?.close();
  });

  test("while one session spins until its deadline, another's 100 short runs all succeed", async () => {
    await peer.execute(job("return 0"), host);
    const spinning = failure(spinner.execute(job("for (;;) {}", { timeoutMs: 3_000 }), host));
    const values: unknown[] = [];
    for (let i = 1; i <= 100; i++) {
      const out = await peer.execute(
        job(`return ${i} + (await demo.echo({ n: 0 })).n`, { timeoutMs: 2_000 }),
        host,
      );
      values.push(out.value);
    }
    expect(values).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(await spinning).toMatchObject({ code: "SANDBOX_TIMEOUT" });
  });

  test("a 2 s program finishes while another session's loop times out beside it", async () => {
    const spinning = failure(spinner.execute(job("for (;;) {}", { timeoutMs: 500 }), host));
    const slow = peer.execute(
      job("const end = Date.now() + 2000; while (Date.now() < end) {} return 'finished'", {
        timeoutMs: 10_000,
      }),
      host,
    );
    expect(await spinning).toMatchObject({ code: "SANDBOX_TIMEOUT" });
    expect((await slow).value).toBe("finished");
  });

  test("a long run's thread gives way to short runs, and serves no other session afterwards", async () => {
    const lowered = () =>
      new Set([...workerPriorities()].filter(([, nice]) => nice === 19).map(([t]) => t));
    const before = lowered();
    const long = await sandbox.open({ sessionId: "long" });
    await long.execute(
      job("const end = Date.now() + 1500; while (Date.now() < end) {} return 1", {
        timeoutMs: 10_000,
      }),
      host,
    );
    const demoted = [...lowered()].filter((t) => !before.has(t));
    expect(demoted).toHaveLength(1);
    // Short runs keep their priority.
    for (let i = 0; i < 20; i++) await peer.execute(job("return 1"), host);
    expect([...lowered()].filter((t) => !before.has(t))).toEqual(demoted);
    // Given back, the demoted thread ends instead of serving a fresh guest for the pool.
    await long.close();
    await expect.poll(() => lowered().has(demoted[0]!), { timeout: 5_000 }).toBe(false);
  });

  test("a guest stuck in a built-in past its deadline is killed alone", async () => {
    const killed = sandbox.counters.guestsKilled;
    // One BigInt-to-string conversion runs for seconds without looking at the deadline.
    const stuck = failure(
      spinner.execute(job("return (7n ** 300000n).toString().length", { timeoutMs: 300 }), host),
    );
    const slow = peer.execute(
      job("await new Promise((r) => setTimeout(r, 1500)); return 'peer done'", {
        timeoutMs: 10_000,
      }),
      host,
    );
    expect(await stuck).toMatchObject({ code: "SANDBOX_TIMEOUT" });
    // It could not stop by itself within the grace period: its thread was terminated.
    await expect
      .poll(() => sandbox.counters.guestsKilled, { timeout: 5_000 })
      .toBeGreaterThan(killed);
    expect((await slow).value).toBe("peer done");
    expect((await spinner.execute(job("return 'next'"), host)).value).toBe("next");
  });
});

// Every class of hostile program, one at a time: the error is typed, and afterwards a benign
// run succeeds in the same session and in another one (this process is the host, so its
// being alive is the test running on).
describe("after each hostile program, both sessions go on", () => {
  let sandbox: WasmSandbox;
  let hostile: SandboxSession;
  let other: SandboxSession;

  beforeAll(async () => {
    sandbox = createWasmSandbox({ poolSize: 2 });
    hostile = await sandbox.open({ sessionId: "hostile" });
    other = await sandbox.open({ sessionId: "other" });
  });
  afterAll(async () => {
    await sandbox?.close();
  });

  const classes: [string, string, Record<string, number>?][] = [
    ["an infinite loop", "for (;;) {}", { timeoutMs: 300 }],
    [
      "a loop that catches the interrupt",
      "for (;;) { try { while (true) {} } catch (e) {} finally { continue } }",
      { timeoutMs: 300 },
    ],
    [
      "a catastrophic regular expression",
      "return /(a+)+b/.test('a'.repeat(64))",
      { timeoutMs: 300 },
    ],
    ["a built-in that ignores the deadline", "(7n ** 300000n).toString()", { timeoutMs: 300 }],
    ["a memory bomb", "const a = []; while (true) a.push(new Array(1e5).fill(1));"],
    ["deep recursion", "const f = (n) => f(n + 1) + 1; return f(0)"],
    ["recursion through native frames", "const f = () => [1].map(() => f()); f()"],
    ["an output over the limit", "return 'x'.repeat(4 * 1024 * 1024)"],
    ["a tool argument over the limit", "await demo.echo({ big: 'x'.repeat(3 * 1024 * 1024) })"],
    ["a tool call that never answers", "await demo.never({}); return 1", { timeoutMs: 300 }],
    ["a promise that never settles", "await new Promise(() => {}); return 1", { timeoutMs: 300 }],
    ["a value JSON cannot carry", "return { a: 1n }"],
    ["a throw of a non-error", "throw { toString() { for (;;) {} } }", { timeoutMs: 300 }],
  ];

  test.each(classes)("%s", async (_name, code, limits) => {
    const error = await failure(hostile.execute(job(code, limits), host));
    expect(isErrorCode((error as { code?: unknown }).code)).toBe(true);
    expect((await hostile.execute(job("return 'same session'"), host)).value).toBe("same session");
    expect((await other.execute(job("return 'other session'"), host)).value).toBe("other session");
  });
});

// A realm that ended clean serves the session's next run (ADR 0029): nothing a run leaves in it
// may reach that run, and anything the prelude cannot put back sends it to a fresh realm.
describe("a realm kept between one session's runs", () => {
  let sandbox: WasmSandbox;
  let session: SandboxSession;
  beforeAll(async () => {
    sandbox = createWasmSandbox({ poolSize: 1 });
    session = await sandbox.open({ sessionId: "kept" });
  });
  afterAll(async () => {
    await sandbox?.close();
  });
  const value = async (code: string) =>
    ((await session.execute(job(code), host)) as { value?: unknown }).value;

  test.each([
    [
      "a global",
      "globalThis.left = 1; x = 2; return 1",
      "return [typeof left, typeof x]",
      ["undefined", "undefined"],
    ],
    [
      "a non-configurable global",
      "Object.defineProperty(globalThis, 'left', { value: 1 }); return 1",
      "return typeof left",
      "undefined",
    ],
    [
      "the global object's prototype",
      "Object.setPrototypeOf(globalThis, { left: 1 }); return 1",
      "return typeof left",
      "undefined",
    ],
    [
      "a built-in changed",
      "try { JSON.parse = () => 0 } catch {} try { Array.prototype.left = 1 } catch {} return 1",
      "return [JSON.parse('7'), [].left ?? null]",
      [7, null],
    ],
    [
      "a timer",
      "setTimeout(() => { globalThis.left = 1 }, 20); return 1",
      "await new Promise((r) => setTimeout(r, 60)); return typeof left",
      "undefined",
    ],
    [
      "a finalizer of a collected cycle",
      "const r = new FinalizationRegistry(() => { globalThis.left = 1 }); const a = {}; a.self = { a }; r.register(a, 0); globalThis.keep = r; return 1",
      "const junk = []; for (let i = 0; i < 100000; i++) junk.push({ i }); await new Promise((r) => setTimeout(r, 20)); return typeof left",
      "undefined",
    ],
    [
      "a job left running",
      "(async () => { for (;;) await null })(); return 1",
      "return 'next'",
      "next",
    ],
  ])("%s does not reach the next run", async (_label, first, second, expected) => {
    await session.execute(job(first), host).catch(() => undefined);
    expect(await value(second)).toEqual(expected);
    expect(await value("return typeof left")).toBe("undefined");
  });
});
