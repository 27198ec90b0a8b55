import { afterAll, describe, expect, test } from "vitest";
import { createProcessSandbox, type SandboxJob } from "../src/index.js";
import { describeHostileRuns, describePeerIsolation } from "../src/testing/index.js";

// The shared suites without namespaces; describeSandbox runs them with them.
describeHostileRuns("process without namespaces", () =>
  createProcessSandbox({ namespaces: "off", poolSize: 1 }),
);
describePeerIsolation("process without namespaces", () =>
  createProcessSandbox({ namespaces: "off", poolSize: 1 }),
);

const limits = { timeoutMs: 10_000, maxMemoryMb: 128, maxOutputBytes: 65_536, maxLogBytes: 4096 };
let n = 0;
const job = (code: string, extra: Partial<SandboxJob> = {}): SandboxJob => ({
  id: `runs-${++n}`,
  code,
  servers: [],
  state: {},
  limits,
  ...extra,
});
const host = { call: async () => null };

describe("the process runner's realm", () => {
  const sandbox = createProcessSandbox({ poolSize: 0 });
  afterAll(() => sandbox.close());

  test("built-ins are frozen: a program's changes to them fail with a TypeError", async () => {
    const session = await sandbox.open();
    const out = await session.execute(
      job(`
        "use strict";
        const failed = [];
        for (const [label, change] of [
          ["JSON.stringify", () => { JSON.stringify = () => "x"; }],
          ["Array.prototype.map", () => { Array.prototype.map = () => []; }],
          ["Object.prototype addition", () => { Object.prototype.extra = 1; }],
          ["Promise.prototype.then", () => { Promise.prototype.then = () => 0; }],
        ]) {
          try { change(); } catch (e) { failed.push(label + ": " + e.constructor.name); }
        }
        return failed;
      `),
      host,
    );
    expect(out.value).toEqual([
      "JSON.stringify: TypeError",
      "Array.prototype.map: TypeError",
      "Object.prototype addition: TypeError",
      "Promise.prototype.then: TypeError",
    ]);
    await session.close();
  });

  test("assigning inherited names on a program's own objects still works", async () => {
    const session = await sandbox.open();
    const out = await session.execute(
      job(`
        "use strict";
        class NotFound extends Error { constructor(m) { super(m); this.name = "NotFound"; } }
        const e = new NotFound("gone");
        const o = {}; o.toString = () => "custom"; o.constructor = "mine";
        const err = new Error(); err.message = "set later";
        function Legacy() {} Legacy.prototype = {}; Legacy.prototype.constructor = Legacy;
        return [e.name, String(e), "" + o, o.constructor, err.message, new Legacy().constructor === Legacy];
      `),
      host,
    );
    expect(out.value).toEqual(["NotFound", "NotFound: gone", "custom", "mine", "set later", true]);
    await session.close();
  });

  test("timers, queueMicrotask and async code work inside the realm", async () => {
    const session = await sandbox.open();
    const out = await session.execute(
      job(`
        const order = [];
        await new Promise((r) => setTimeout(() => { order.push("timeout"); r(); }, 5));
        await new Promise((r) => setImmediate(() => { order.push("immediate"); r(); }));
        await new Promise((r) => queueMicrotask(() => { order.push("microtask"); r(); }));
        let ticks = 0;
        await new Promise((r) => { const id = setInterval(() => { if (++ticks === 3) { clearInterval(id); r(); } }, 1); });
        const cleared = setTimeout(() => order.push("never"), 1); clearTimeout(cleared);
        await new Promise((r) => setTimeout(r, 10));
        return [order, ticks];
      `),
      host,
    );
    expect(out.value).toEqual([["timeout", "immediate", "microtask"], 3]);
    await session.close();
  });
});
