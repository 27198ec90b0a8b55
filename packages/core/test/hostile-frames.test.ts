import { afterAll, afterEach, describe, expect, test } from "vitest";
import {
  createMemoryAuditSink,
  createMemorySessionStore,
  ErrorCodes,
  MCPOptimizer,
  ProcessSandbox,
  type SandboxJob,
} from "../src/index.js";
import type { RunnerSpec } from "../src/sandbox/process/process-runner.js";
import { describeHostileFrames } from "../src/testing/index.js";

// The shared hostile suite without namespaces; describeSandbox runs it with them.
describeHostileFrames(
  "process without namespaces",
  () => new ProcessSandbox({ namespaces: "off", poolSize: 1 }),
);

describe("a program cannot reach the runner around its realm", () => {
  const sandbox = new ProcessSandbox({ poolSize: 0 });
  afterAll(() => sandbox.close());

  test("no route from the program's realm leads to process, require or the pipes", async () => {
    const session = await sandbox.open();
    const out = await session.execute(
      job(
        `
        const found = [];
        const look = (label, get) => {
          try {
            const v = get();
            if (v && (typeof v.kill === "function" || typeof v.stdout === "object" || typeof v.binding === "function")) found.push(label);
          } catch {}
        };
        look("global process", () => globalThis.process);
        look("Function constructor", () => Function("return process")());
        look("constructor chain", () => ({}).constructor.constructor("return process")());
        look("this", () => (function () { return this.process; })());
        look("eval", () => eval("process"));
        look("indirect eval", () => (0, eval)("globalThis.process"));
        look("require", () => require("node:process"));
        look("module", () => module.require("node:process"));
        try {
          await import("node:process");
          found.push("import() loaded a module");
        } catch (e) {
          look("import() error", () => e.constructor.constructor("return process")());
        }
        try {
          Error.prepareStackTrace = (e, sites) => sites;
          const sites = new Error().stack;
          if (Array.isArray(sites)) {
            for (const s of sites) {
              look("a stack frame's this", () => s.getThis()?.process);
              look("a stack frame's function", () => s.getFunction()?.constructor("return process")());
            }
          }
        } catch {}
        try { Error.prepareStackTrace = undefined; } catch {}
        for (const name of ["setTimeout", "queueMicrotask", "console", "mcp", "demo"]) {
          look(name + " constructor", () => globalThis[name]?.constructor?.constructor?.("return process")());
        }
        look("a host error", () => { throw 0; });
        try { await demo.echo(10n); } catch (e) { look("a tool error", () => e.constructor.constructor("return process")()); }
        try { null.x; } catch (e) { look("a TypeError", () => e.constructor.constructor("return process")()); }
        const deep = (n) => (n === 0 ? 0 : deep(n - 1) + 1);
        try { deep(1e6); } catch (e) { look("a stack overflow", () => e.constructor.constructor("return process")()); }
        return found;
      `,
        { servers: [{ name: "demo", global: "demo", tools: ["echo"] }] },
      ),
      { call: async () => ({ ok: true }) },
    );
    expect(out.value).toEqual([]);
    await session.close();
  });
});

/**
 * A runner that stands for a guest which escaped its realm and owns the runner process: it
 * speaks the protocol, but misbehaves in one scripted way on its first run. The host must
 * hold anyway. `behaviour` is the body of `onRun(id, line)`; `send(obj)` writes a frame.
 */
function escapedRunner(behaviour: string): string {
  return `
    const send = (f) => process.stdout.write((typeof f === "string" ? f : JSON.stringify(f)) + "\\n");
    send({ t: "ready", protocol: 1, engine: "escaped" });
    let buffer = "";
    process.stdin.setEncoding("utf8");
    process.stdin.on("data", (chunk) => {
      buffer += chunk;
      let nl;
      while ((nl = buffer.indexOf("\\n")) !== -1) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        const frame = JSON.parse(line);
        if (frame.t === "run") onRun(frame.id, frame);
      }
    });
    process.stdin.on("end", () => process.exit(0));
    let runs = 0;
    let previous;
    function onRun(id, frame) { runs++; ${behaviour}; previous = id; }
  `;
}

/** A process sandbox whose first runner is the escaped one; later runners are real. */
class ScriptedSandbox extends ProcessSandbox {
  started = 0;
  constructor(private readonly script: string) {
    super({ poolSize: 0, namespaces: "off" });
  }
  override runnerSpec(heapMb?: number): RunnerSpec {
    const spec = super.runnerSpec(heapMb);
    if (this.started++ > 0) return spec;
    return { ...spec, command: process.execPath, args: ["-e", this.script] };
  }
}

const limits = { timeoutMs: 5_000, maxMemoryMb: 128, maxOutputBytes: 65_536, maxLogBytes: 4096 };
let n = 0;
const job = (code: string, extra: Partial<SandboxJob> = {}): SandboxJob => ({
  id: `escaped-${++n}`,
  code,
  servers: [],
  state: {},
  limits,
  ...extra,
});
const host = { call: async () => null };

describe("an escaped guest that owns its runner cannot make the host believe it", () => {
  const sandboxes: ProcessSandbox[] = [];
  const open = async (behaviour: string) => {
    const sandbox = new ScriptedSandbox(escapedRunner(behaviour));
    sandboxes.push(sandbox);
    return { sandbox, session: await sandbox.open() };
  };
  afterEach(async () => {
    await Promise.all(sandboxes.splice(0).map((s) => s.close()));
  });

  const cases: [string, string, string][] = [
    [
      "a second terminal frame for the same run",
      `send({ t: "started", run: id }); send({ t: "done", run: id, value: "first", state: {} }); send({ t: "done", run: id, value: "second", state: {} });`,
      "done",
    ],
    [
      "a frame for another run id during the run",
      `send({ t: "started", run: id }); send({ t: "log", run: "someone-else", level: "log", text: "x" }); send({ t: "done", run: id, value: 1, state: {} });`,
      ErrorCodes.BRIDGE_PROTOCOL_ERROR,
    ],
    [
      "a frame nested 50,000 deep",
      `send({ t: "started", run: id }); send('{"t":"done","run":' + JSON.stringify(id) + ',"value":' + "[".repeat(50000) + "]".repeat(50000) + ',"state":{}}');`,
      ErrorCodes.BRIDGE_PROTOCOL_ERROR,
    ],
    [
      "a state that is not an object",
      `send({ t: "started", run: id }); send({ t: "done", run: id, value: 1, state: [1] });`,
      ErrorCodes.BRIDGE_PROTOCOL_ERROR,
    ],
    [
      "a line that is not JSON",
      `send({ t: "started", run: id }); send("not a frame");`,
      ErrorCodes.BRIDGE_PROTOCOL_ERROR,
    ],
    [
      "a second started frame",
      `send({ t: "started", run: id }); send({ t: "started", run: id }); send({ t: "done", run: id, value: 1, state: {} });`,
      ErrorCodes.BRIDGE_PROTOCOL_ERROR,
    ],
  ];
  for (const [label, behaviour, expected] of cases) {
    test(`${label}: typed, the runner replaced, the next run served`, async () => {
      const { sandbox, session } = await open(behaviour);
      const first = await session.execute(job("return 'real'"), host).then(
        (o) => ({ done: o.value }),
        (e: { code?: string }) => ({ code: e.code }),
      );
      if (expected === "done") expect(first).toEqual({ done: "first" });
      else expect(first).toEqual({ code: expected });
      const next = await session.execute(job("return 'next'"), host);
      expect(next.value).toBe("next");
      expect(sandbox.started).toBe(2); // the escaped runner was given up
    });
  }

  test("leftover output while idle: the runner is replaced before the next job", async () => {
    const { sandbox, session } = await open(
      `send({ t: "started", run: id }); send({ t: "done", run: id, value: "first", state: {} });
       setTimeout(() => send({ t: "log", run: id, level: "log", text: "late" }), 200);`,
    );
    expect((await session.execute(job("return 1"), host)).value).toBe("first");
    await new Promise((r) => setTimeout(r, 400));
    expect((await session.execute(job("return 'second'"), host)).value).toBe("second");
    expect(sandbox.started).toBe(2);
  });

  test("leftover output after the next job was sent, before it was taken: it runs on a fresh runner", async () => {
    const { sandbox, session } = await open(
      `if (runs === 1) { send({ t: "started", run: id }); send({ t: "done", run: id, value: "first", state: {} }); }
       else send({ t: "log", run: previous, level: "log", text: "late" });`,
    );
    expect((await session.execute(job("return 1"), host)).value).toBe("first");
    expect((await session.execute(job("return 'second'"), host)).value).toBe("second");
    expect(sandbox.started).toBe(2);
  });

  test("a runner that never takes the next job (still busy): a typed error, then a fresh runner", async () => {
    const { sandbox, session } = await open(
      `if (runs === 1) { send({ t: "started", run: id }); send({ t: "done", run: id, value: "first", state: {} }); }`,
    );
    expect((await session.execute(job("return 1"), host)).value).toBe("first");
    const error = await session
      .execute(job("return 'second'", { limits: { ...limits, timeoutMs: 500 } }), host)
      .catch((e: { code?: string }) => e);
    expect((error as { code?: string }).code).toBe(ErrorCodes.SANDBOX_TIMEOUT);
    expect((await session.execute(job("return 'third'"), host)).value).toBe("third");
    expect(sandbox.started).toBe(2);
  });

  test("a runner that never answers within the deadline: a typed error, and the session recovers", async () => {
    const { session } = await open("");
    const error = await session
      .execute(job("return 1", { limits: { ...limits, timeoutMs: 300 } }), host)
      .catch((e: { code?: string }) => e);
    expect((error as { code?: string }).code).toMatch(/^(SANDBOX_CRASHED|SANDBOX_TIMEOUT)$/);
    expect((await session.execute(job("return 'after'"), host)).value).toBe("after");
  });
});

describe("a deep value through the engine: a typed error with a log entry and an audit record", () => {
  const audit = createMemoryAuditSink();
  const sessions = createMemorySessionStore();
  const optimizer = new MCPOptimizer({ sandboxConfig: { mode: "process" }, audit, sessions });
  afterAll(() => optimizer.close());

  const deep = (n: number) => `let v = []; for (let i = 0; i < ${n}; i++) v = [v];`;
  for (const [label, code, expected] of [
    ["200,000 deep, returned", `${deep(200_000)} return v`, ErrorCodes.RESULT_NOT_SERIALIZABLE],
    [
      "1,000 deep through toJSON (past the prelude's check, refused by the host)",
      `${deep(1000)} return { toJSON() { return v } }`,
      ErrorCodes.BRIDGE_PROTOCOL_ERROR,
    ],
    [
      "200,000 deep through toJSON (the guest's own JSON overflows)",
      `${deep(200_000)} return { toJSON() { return v } }`,
      ErrorCodes.CODE_RUNTIME_ERROR,
    ],
  ] as const) {
    test(`a value nested ${label}: ${expected}`, async () => {
      const sessionId = `deep-${label.replace(/\W+/g, "-")}`;
      const error = await optimizer.run(code, { sessionId }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: expected });
      const record = await sessions.get(sessionId);
      expect(record?.log.at(-1)).toMatchObject({ outcome: "error", errorCode: expected });
      expect(
        audit
          .records()
          .filter((r) => r.type === "execution")
          .at(-1),
      ).toMatchObject({
        sessionId,
        outcome: "error",
        errorCode: expected,
      });
      expect((await optimizer.run("return 'next'", { sessionId })).value).toBe("next");
    });
  }
});
