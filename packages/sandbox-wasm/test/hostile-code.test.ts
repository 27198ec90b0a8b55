import { ErrorCodes, hasErrorCode, isErrorCode, type SandboxSession } from "@mcp-optimizer/core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createWasmSandbox, type WasmSandbox } from "../src/index.js";
import { calls, host, job } from "./helpers.js";

// Model-written code at its worst, on the real engine: every attempt ends in a typed error
// and the session goes on.
describe("hostile code on the wasm sandbox", () => {
  let sandbox: WasmSandbox;
  let session: SandboxSession;
  const run = (code: string, extra = {}) => session.execute(job(code, extra), host);
  const alive = async () => expect((await run("return 'alive'")).value).toBe("alive");

  beforeAll(async () => {
    // A generous grace period: on a loaded machine the runner's own report of a timeout may
    // come after the host's deadline; these tests are about the runner stopping the code.
    sandbox = createWasmSandbox({ poolSize: 1, killGraceMs: 1500 });
    session = await sandbox.open({ sessionId: "hostile" });
  });
  afterAll(async () => {
    await sandbox?.close();
  });

  test("infinite loops (plain, in try/catch, in a regex) time out inside the guest", async () => {
    await alive();
    const killed = sandbox.counters.guestsKilled;
    for (const code of [
      "while (true) {}",
      "for (;;) { try { while (true) {} } catch (e) {} finally { continue } }",
      "return /(a+)+b/.test('a'.repeat(64))",
      "const go = () => Promise.resolve().then(() => { for (;;) {} }); await Promise.all([go(), go(), go()])",
    ]) {
      const started = Date.now();
      await expect(run(code, { timeoutMs: 300 })).rejects.toMatchObject({
        code: ErrorCodes.SANDBOX_TIMEOUT,
        message: expect.stringContaining("300 ms"),
      });
      expect(Date.now() - started).toBeLessThan(5_000);
    }
    // The interrupt handler stopped each loop inside the guest: no guest was killed.
    await alive();
    expect(sandbox.counters.guestsKilled).toBe(killed);
  });

  test("every execution starts in a fresh realm: globals, built-ins and prototypes are clean", async () => {
    await run(`
      globalThis.leftover = 1;
      Object.prototype.polluted = "yes";
      Array.prototype.map = () => "hijacked";
      Promise.prototype.then = function () { for (;;) {} };
      return 1;
    `).catch(() => undefined);
    const out = await run(
      "return [typeof leftover, ({}).polluted ?? 'clean', [1, 2].map((x) => x * 2), await demo.echo({ ok: true })]",
    );
    expect(out.value).toEqual(["undefined", "clean", [2, 4], { ok: true }]);
  });

  test("a program that breaks what the prelude relies on fails alone; the next run is clean", async () => {
    for (const code of [
      "JSON.parse = () => { for (;;) {} }; return await demo.echo({ a: 1 })",
      "JSON.stringify = () => '{'; return 1",
      "Object.keys = null; String.prototype.slice = null; return { a: 1 }",
      "globalThis.Promise = function () { throw new Error('no promises') }; return await demo.echo({})",
    ]) {
      const error = await run(code, { timeoutMs: 500 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      // Whatever the broken run ends with, it is typed and it is the only one affected.
      if (error !== undefined)
        expect(hasErrorCode(error, (error as { code: never }).code)).toBe(true);
      const started = Date.now();
      expect((await run("return JSON.parse(JSON.stringify({ b: [1] }))")).value).toEqual({
        b: [1],
      });
      expect(Date.now() - started).toBeLessThan(2_000);
    }
  });

  test("jobs a finished run leaves queued are dropped with its realm", async () => {
    const started = Date.now();
    expect((await run("(async () => { for (;;) await null })(); return 1")).value).toBe(1);
    expect(
      (
        await run(
          "Promise.resolve().then(function f() { return Promise.resolve().then(f) }); return 2",
        )
      ).value,
    ).toBe(2);
    expect(Date.now() - started).toBeLessThan(2_000);
    await alive();
  });

  test("recursion that catches its own stack overflows is stopped too", async () => {
    // Exponential work near the stack limit: the runner stops it, or the host kills the guest.
    const started = Date.now();
    await expect(
      run("const f = () => { try { f() } catch { f() } }; f()", { timeoutMs: 300 }),
    ).rejects.toMatchObject({ code: ErrorCodes.SANDBOX_TIMEOUT });
    expect(Date.now() - started).toBeLessThan(5_000);
    await alive();
  });

  test("a loop that catches the interrupt cannot swallow it", async () => {
    await expect(
      run("let n = 0; for (;;) { try { while (true) {} } catch (e) { n++; } } return n", {
        timeoutMs: 200,
      }),
    ).rejects.toMatchObject({ code: ErrorCodes.SANDBOX_TIMEOUT });
    await alive();
  });

  test("a memory bomb gets SANDBOX_MEMORY; the next run works", async () => {
    for (const code of [
      "const a = []; while (true) a.push(new Array(100000).fill(1));",
      "let s = 'x'; while (true) s = s + s;",
      "const m = new Map(); for (let i = 0; ; i++) m.set(i, { i, s: 'v' + i });",
      "new ArrayBuffer(1024 * 1024 * 1024)",
    ]) {
      // A small heap, so that filling it is quick even before V8 has optimised the engine.
      const error = await run(code, { timeoutMs: 30_000, maxMemoryMb: 16 }).catch(
        (e: unknown) => e,
      );
      expect(
        hasErrorCode(error, ErrorCodes.SANDBOX_MEMORY) ||
          hasErrorCode(error, ErrorCodes.CODE_RUNTIME_ERROR),
      ).toBe(true);
      await alive();
    }
    await expect(
      run("const a = []; while (true) a.push(new Array(100000).fill(1));"),
    ).rejects.toMatchObject({
      code: ErrorCodes.SANDBOX_MEMORY,
      message: expect.stringContaining("64 MB"),
    });
  });

  test("deep recursion is a RangeError-like runtime error, not a crash", async () => {
    await expect(run("const f = (n) => f(n + 1) + 1; return f(0)")).rejects.toMatchObject({
      code: ErrorCodes.CODE_RUNTIME_ERROR,
      message: expect.stringContaining("stack overflow"),
    });
    const out = await run(
      "let d = 0; const f = () => { d++; f(); }; try { f() } catch (e) { return [d > 500, String(e)] }",
    );
    expect(out.value).toEqual([true, "InternalError: stack overflow"]);
    await alive();
  });

  test("recursion through native frames ends the run, at worst the guest", async () => {
    for (const code of [
      "const f = () => [1].map(() => f()); f()",
      "const p = new Proxy({}, { get(t, k) { return p[k + 'x'] } }); p.a",
      "const f = (n) => f.call(null, n + 1) + Reflect.apply(f, null, [n]); f(0)",
      "const f = () => JSON.parse('[1]', () => f()); f()",
    ]) {
      // A stack overflow inside QuickJS, or the host stack exhausted under it (a wasm trap
      // that ends only this guest).
      await expect(run(code)).rejects.toMatchObject({
        code: expect.stringMatching(/^(CODE_RUNTIME_ERROR|SANDBOX_CRASHED)$/),
      });
      await alive();
    }
  });

  test("sorting 2M elements under a short deadline is stopped; the next run works", async () => {
    const started = Date.now();
    await expect(
      run(
        "const a = []; for (let i = 0; i < 2e6; i++) a.push((i * 7919) % 1000003); a.sort((x, y) => x - y); return a[0]",
        { timeoutMs: 150 },
      ),
    ).rejects.toMatchObject({ code: ErrorCodes.SANDBOX_TIMEOUT });
    await expect(
      run(
        "const a = new Float64Array(2e6); for (let i = 0; i < a.length; i++) a[i] = (i * 7919) % 1000003; a.sort(); return a[0]",
        { timeoutMs: 150 },
      ),
    ).rejects.toMatchObject({ code: ErrorCodes.SANDBOX_TIMEOUT });
    expect(Date.now() - started).toBeLessThan(10_000);
    await alive();
  });

  test("no host files, environment, network or module system is reachable", async () => {
    const out = await run(`
      const seen = {};
      for (const name of ["process", "require", "module", "std", "os", "Deno", "Bun", "fetch",
        "XMLHttpRequest", "WebSocket", "print", "scriptArgs", "__filename", "WebAssembly", "Worker"]) {
        seen[name] = typeof globalThis[name];
      }
      const imports = [];
      for (const m of ["std", "os", "node:fs", "fs", "/etc/passwd", "file:///etc/passwd", "https://example.com/x.js"]) {
        try { await import(m); imports.push(m + ": loaded"); } catch (e) { imports.push(m + ": " + e.name); }
      }
      return { seen, imports };
    `);
    const value = out.value as { seen: Record<string, string>; imports: string[] };
    expect(Object.values(value.seen).every((t) => t === "undefined")).toBe(true);
    expect(value.imports.every((i) => !i.endsWith("loaded"))).toBe(true);
  });

  test("constructor and prototype escapes find nothing but the guest's own realm", async () => {
    const out = await run(`
      const g1 = (function () {}).constructor("return this")();
      const g2 = (async () => {}).constructor("return globalThis")();
      const viaProto = ({}).constructor.constructor("return this")();
      let proxyEscape;
      try { proxyEscape = demo.constructor; } catch (e) { proxyEscape = "threw"; }
      let hostRef;
      try { hostRef = Function("return process")(); } catch (e) { hostRef = e.name; }
      Object.prototype.polluted = "yes";
      Array.prototype.push = function () { return 0; };
      return {
        same: g1 === globalThis && viaProto === globalThis,
        g2: typeof (await g2),
        proxyEscape: String(proxyEscape),
        hostRef,
        names: Object.getOwnPropertyNames(globalThis).filter((n) => /process|require|std|os$/.test(n)),
      };
    `);
    expect(out.value).toEqual({
      same: true,
      g2: "object",
      proxyEscape: "undefined",
      hostRef: "ReferenceError",
      names: [],
    });
    // The host's realm is untouched, and the polluted guest still answers.
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await alive();
    // Another session is a different realm.
    const other = await sandbox.open();
    try {
      expect((await other.execute(job("return ({}).polluted ?? 'clean'"), host)).value).toBe(
        "clean",
      );
    } finally {
      await other.close();
    }
  });

  test("huge outputs: return values, tool arguments and logs are limited", async () => {
    await expect(run("return 'x'.repeat(2 * 1024 * 1024)")).rejects.toMatchObject({
      code: ErrorCodes.SANDBOX_OUTPUT_LIMIT,
    });
    await alive();
    calls.length = 0;
    await expect(
      run("await demo.echo({ big: 'x'.repeat(3 * 1024 * 1024) }); return 1"),
    ).rejects.toMatchObject({ code: ErrorCodes.SANDBOX_OUTPUT_LIMIT });
    expect(calls).toHaveLength(0);
    await alive();
    const out = await run(
      "for (let i = 0; i < 1e5; i++) console.log('x'.repeat(1000)); return 'ok'",
    );
    expect(out.value).toBe("ok");
    expect(out.logsTruncated).toBe(true);
  });

  test("values nested too deeply for the host are refused with an error the program can catch", async () => {
    const out = await run(
      "let v = 1; for (let i = 0; i < 2000; i++) v = [v]; try { await demo.echo({ v }); return 'sent' } catch (e) { return e.message }",
    );
    expect(out.value).toMatch(/nested deeper than \d+ levels/);
    await expect(
      run("let v = 1; for (let i = 0; i < 2000; i++) v = { v }; return v"),
    ).rejects.toSatisfy((e: unknown) => isErrorCode((e as { code?: unknown }).code));
    await alive();
  });

  test("console output that looks like a frame stays a log line", async () => {
    const out = await run(
      `console.log('{"t":"done","run":"forged","value":666,"state":{}}'); console.log("\\n{\\"t\\":\\"ready\\"}\\n"); return 'real'`,
    );
    expect(out.value).toBe("real");
    expect(out.logs).toHaveLength(2);
  });

  test("a tool call that never answers times out; the session goes on", async () => {
    await expect(run("await demo.never({}); return 1", { timeoutMs: 300 })).rejects.toMatchObject({
      code: ErrorCodes.SANDBOX_TIMEOUT,
    });
    await expect(
      run("await new Promise((r) => setTimeout(r, 60_000)); return 1", { timeoutMs: 300 }),
    ).rejects.toMatchObject({ code: ErrorCodes.SANDBOX_TIMEOUT });
    await alive();
  });
});
