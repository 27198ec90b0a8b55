import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { parseSandboxConfig } from "../src/config/parse-config.js";
import type { AuditRecord } from "../src/contracts/audit-sink.js";
import type {
  Sandbox,
  SandboxCapabilities,
  SandboxHost,
  SandboxJob,
  SandboxOpenOptions,
  SandboxSession,
} from "../src/contracts/sandbox.js";
import { MCPOptimizer } from "../src/engine/optimizer.js";
import { ErrorCodes, hasErrorCode, OptimizerError } from "../src/errors.js";
import {
  createHybridSandbox,
  type HybridDecision,
  hybridPolicy,
} from "../src/sandbox/hybrid-sandbox.js";
import {
  createProcessSandbox,
  type ProcessSandbox,
} from "../src/sandbox/process/process-sandbox.js";
import { MemorySessionStore } from "../src/sessions/memory-session-store.js";
import { describeSandbox } from "../src/testing/index.js";

/** A sandbox that is deliberately not there: its capabilities say so, or its open() refuses. */
class UnavailableSandbox implements Sandbox {
  opens = 0;
  capabilityChecks = 0;
  constructor(
    readonly mode: string,
    private readonly how: "capabilities" | "open" | "open-other-error",
  ) {}
  async capabilities(): Promise<SandboxCapabilities> {
    this.capabilityChecks++;
    return {
      mode: this.mode,
      available: this.how !== "capabilities",
      ...(this.how === "capabilities" ? { reason: `${this.mode} engine is down` } : {}),
      isolation: "container",
      details: {},
    };
  }
  async open(): Promise<SandboxSession> {
    this.opens++;
    if (this.how === "open-other-error")
      throw new OptimizerError(ErrorCodes.INVALID_CONFIG, "bad sandbox config");
    throw new OptimizerError(ErrorCodes.SANDBOX_UNAVAILABLE, `${this.mode} refused to open`);
  }
  async close(): Promise<void> {}
}

/** A real process sandbox that counts the sessions opened on it. */
function counted(sandbox: ProcessSandbox): ProcessSandbox & { opens: number } {
  const wrapped = sandbox as ProcessSandbox & { opens: number };
  wrapped.opens = 0;
  const open = sandbox.open.bind(sandbox);
  wrapped.open = (options?: SandboxOpenOptions) => {
    wrapped.opens++;
    return open(options);
  };
  return wrapped;
}

const limits = {
  timeoutMs: 10_000,
  maxMemoryMb: 128,
  maxOutputBytes: 1024 * 1024,
  maxLogBytes: 16 * 1024,
};
const host: SandboxHost = { call: async () => null };
let n = 0;
const job = (code: string, hints?: SandboxJob["hints"]): SandboxJob => ({
  id: `hybrid-${++n}`,
  code,
  servers: [],
  state: {},
  limits,
  ...(hints ? { hints } : {}),
});

describeSandbox("hybrid (process, behind an unavailable docker)", () =>
  createHybridSandbox({
    sandboxes: {
      docker: new UnavailableSandbox("docker", "capabilities"),
      process: createProcessSandbox({ poolSize: 1 }),
    },
    defaultModes: ["docker", "process"],
  }),
);

describe("hybrid routing", () => {
  const toClose: Sandbox[] = [];
  afterAll(async () => {
    await Promise.all(toClose.map((s) => s.close()));
  });

  /** "docker" and "wasm" are real process sandboxes here: routing is what is under test. */
  function setup(extra: Partial<Parameters<typeof createHybridSandbox>[0]> = {}) {
    const docker = counted(createProcessSandbox({ poolSize: 0 }));
    const wasm = counted(createProcessSandbox({ poolSize: 0 }));
    const decisions: HybridDecision[] = [];
    const hybrid = createHybridSandbox({
      sandboxes: { docker, wasm },
      onDecision: (d) => decisions.push(d),
      ...extra,
    });
    toClose.push(hybrid);
    return { hybrid, docker, wasm, decisions };
  }

  test("sends risky executions to docker and the rest to wasm, and logs each decision", async () => {
    const { hybrid, decisions } = setup();
    const session = await hybrid.open({ sessionId: "route-1" });
    expect((await session.execute(job("return 1"), host)).mode).toBe("wasm");
    expect((await session.execute(job("return 1", { mayDestroy: true }), host)).mode).toBe(
      "docker",
    );
    expect((await session.execute(job("return 1", { needsFiles: true }), host)).mode).toBe(
      "docker",
    );
    expect((await session.execute(job("return 1", { longRunning: true }), host)).mode).toBe(
      "docker",
    );
    expect((await session.execute(job("return 1", { mayWrite: true }), host)).mode).toBe("wasm");
    expect(decisions.map((d) => [d.rule, d.mode])).toEqual([
      ["default", "wasm"],
      ["container", "docker"],
      ["container", "docker"],
      ["container", "docker"],
      ["default", "wasm"],
    ]);
    expect(decisions[1]).toMatchObject({
      sessionId: "route-1",
      hints: { mayDestroy: true },
      candidates: ["docker", "wasm"],
      fallbacks: [],
    });
    await session.close();
  });

  test("an explicit preferMode wins over the rules", async () => {
    const { hybrid, decisions } = setup();
    const session = await hybrid.open();
    const out = await session.execute(
      job("return 2", { mayDestroy: true, preferMode: "wasm" }),
      host,
    );
    expect(out.mode).toBe("wasm");
    expect(out.notes).toBeUndefined();
    expect(decisions[0]).toMatchObject({
      rule: "container",
      candidates: ["wasm", "docker"],
      mode: "wasm",
    });
    await session.close();
  });

  test("a preferMode that is not configured is noted and the rules decide", async () => {
    const { hybrid } = setup();
    const session = await hybrid.open();
    const out = await session.execute(job("return 3", { preferMode: "gvisor" }), host);
    expect(out.mode).toBe("wasm");
    expect(out.notes).toEqual([
      "fell back from gvisor (requested (preferMode) but not configured) to wasm",
    ]);
    await session.close();
  });

  test("opens underlying sessions lazily, one per mode, and keeps them", async () => {
    const { hybrid, docker, wasm } = setup();
    const session = await hybrid.open();
    expect(docker.opens + wasm.opens).toBe(0);
    await session.execute(job("return 1"), host);
    await session.execute(job("return 1"), host);
    expect([docker.opens, wasm.opens]).toEqual([0, 1]);
    const onDocker = await session.execute(job("return 2", { mayDestroy: true }), host);
    const onWasm = await session.execute(job("return 3"), host);
    expect([onDocker.mode, onDocker.value]).toEqual(["docker", 2]);
    expect([onWasm.mode, onWasm.value]).toEqual(["wasm", 3]);
    // Each mode's session was opened once and kept for the later executions.
    expect([docker.opens, wasm.opens]).toEqual([1, 1]);
    await session.close();
  });

  test("falls back when a mode's capabilities say it is unavailable, and says so", async () => {
    const down = new UnavailableSandbox("docker", "capabilities");
    const wasm = createProcessSandbox({ poolSize: 0 });
    const decisions: HybridDecision[] = [];
    const hybrid = createHybridSandbox({
      sandboxes: { docker: down, wasm },
      onDecision: (d) => decisions.push(d),
    });
    toClose.push(hybrid);
    const session = await hybrid.open();
    const out = await session.execute(job("return 'ran'", { mayDestroy: true }), host);
    expect(out).toMatchObject({ value: "ran", mode: "wasm" });
    expect(out.notes).toEqual(["fell back from docker (docker engine is down) to wasm"]);
    expect(down.opens).toBe(0);
    expect(decisions[0]).toMatchObject({
      rule: "container",
      mode: "wasm",
      fallbacks: [{ mode: "docker", reason: "docker engine is down" }],
    });
    await session.close();
  });

  test("falls back when open() fails with SANDBOX_UNAVAILABLE", async () => {
    const refusing = new UnavailableSandbox("docker", "open");
    const hybrid = createHybridSandbox({
      sandboxes: { docker: refusing, process: createProcessSandbox({ poolSize: 0 }) },
    });
    toClose.push(hybrid);
    const session = await hybrid.open();
    const out = await session.execute(job("return 4", { needsFiles: true }), host);
    expect(out.mode).toBe("process");
    expect(out.notes).toEqual(["fell back from docker (docker refused to open) to process"]);
    expect(refusing.opens).toBe(1);
    // The refusal is remembered for availabilityTtlMs: no second open right away.
    await session.execute(job("return 5", { needsFiles: true }), host);
    expect(refusing.opens).toBe(1);
    await session.close();
  });

  test("other errors from open() are not a reason to fall back", async () => {
    const broken = new UnavailableSandbox("docker", "open-other-error");
    const hybrid = createHybridSandbox({
      sandboxes: { docker: broken, process: createProcessSandbox({ poolSize: 0 }) },
    });
    toClose.push(hybrid);
    const session = await hybrid.open();
    await expect(
      session.execute(job("return 1", { mayDestroy: true }), host),
    ).rejects.toMatchObject({
      code: ErrorCodes.INVALID_CONFIG,
    });
    await session.close();
  });

  test("when no mode can run the job it fails with SANDBOX_UNAVAILABLE naming each reason", async () => {
    const decisions: HybridDecision[] = [];
    const hybrid = createHybridSandbox({
      sandboxes: {
        docker: new UnavailableSandbox("docker", "capabilities"),
        wasm: new UnavailableSandbox("wasm", "open"),
      },
      onDecision: (d) => decisions.push(d),
    });
    toClose.push(hybrid);
    const session = await hybrid.open();
    const error = await session.execute(job("return 1"), host).catch((e: unknown) => e);
    expect(hasErrorCode(error, ErrorCodes.SANDBOX_UNAVAILABLE)).toBe(true);
    expect((error as Error).message).toContain("wasm: wasm refused to open");
    expect((error as Error).message).toContain("docker: docker engine is down");
    expect(decisions[0]).toMatchObject({ mode: undefined, rule: "default" });
    await session.close();
  });

  test("rules are ordered, configurable, and a throwing predicate does not match", async () => {
    const { hybrid, decisions } = setup({
      rules: [
        {
          name: "explodes",
          when: () => {
            throw new Error("bad predicate");
          },
          modes: ["docker"],
        },
        { name: "writers", when: (h) => h.mayWrite === true, modes: ["docker"] },
        { name: "also-writers", when: (h) => h.mayWrite === true, modes: ["wasm"] },
      ],
      defaultModes: ["wasm"],
    });
    const session = await hybrid.open();
    expect((await session.execute(job("return 1", { mayWrite: true }), host)).mode).toBe("docker");
    expect((await session.execute(job("return 1", { mayDestroy: true }), host)).mode).toBe("wasm");
    expect(decisions.map((d) => d.rule)).toEqual(["writers", "default"]);
    await session.close();
  });

  test("a rule that names no configured mode fails clearly", async () => {
    const { hybrid } = setup({
      rules: [{ name: "only-gvisor", when: () => true, modes: ["gvisor"] }],
    });
    const session = await hybrid.open();
    await expect(session.execute(job("return 1"), host)).rejects.toMatchObject({
      code: ErrorCodes.SANDBOX_UNAVAILABLE,
      message: expect.stringContaining('No configured sandbox serves rule "only-gvisor"'),
    });
    await session.close();
  });

  test("a mode that goes away under a session is dropped and the next execution routes afresh", async () => {
    let failNext = true;
    const flaky = createProcessSandbox({ poolSize: 0 });
    const flakyOpen = flaky.open.bind(flaky);
    flaky.open = async (options) => {
      const inner = await flakyOpen(options);
      return {
        id: inner.id,
        close: () => inner.close(),
        execute: async (j, h) => {
          if (failNext) {
            failNext = false;
            throw new OptimizerError(ErrorCodes.SANDBOX_UNAVAILABLE, "engine vanished");
          }
          return inner.execute(j, h);
        },
      };
    };
    const hybrid = createHybridSandbox({
      sandboxes: { docker: flaky, process: createProcessSandbox({ poolSize: 0 }) },
      defaultModes: ["docker", "process"],
      availabilityTtlMs: 60_000,
    });
    toClose.push(hybrid);
    const session = await hybrid.open();
    await expect(session.execute(job("return 1"), host)).rejects.toMatchObject({
      code: ErrorCodes.SANDBOX_UNAVAILABLE,
    });
    const out = await session.execute(job("return 2"), host);
    expect(out).toMatchObject({
      value: 2,
      mode: "process",
      notes: ["fell back from docker (engine vanished) to process"],
    });
    await session.close();
  });

  test("capabilities are composite and report each mode", async () => {
    const hybrid = createHybridSandbox({
      sandboxes: {
        docker: new UnavailableSandbox("docker", "capabilities"),
        process: createProcessSandbox({ poolSize: 0 }),
      },
    });
    toClose.push(hybrid);
    const caps = await hybrid.capabilities();
    expect(caps).toMatchObject({ mode: "hybrid", available: true, isolation: "composite" });
    expect(caps.reason).toContain("docker unavailable: docker engine is down");
    expect(caps.details.modes).toMatchObject({
      docker: { available: false, reason: "docker engine is down" },
      process: { available: true, isolation: "resource" },
    });
  });

  test("needs at least one sandbox", () => {
    expect(() => createHybridSandbox({ sandboxes: {} })).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_CONFIG }),
    );
  });

  test("close() closes its sessions and the composed sandboxes", async () => {
    const { hybrid, wasm } = setup();
    const session = await hybrid.open();
    await session.execute(job("return 1"), host);
    await hybrid.close();
    await expect(session.execute(job("return 1"), host)).rejects.toMatchObject({
      code: ErrorCodes.SANDBOX_UNAVAILABLE,
    });
    await expect(hybrid.open()).rejects.toMatchObject({ code: ErrorCodes.SANDBOX_UNAVAILABLE });
    await expect(wasm.open()).rejects.toMatchObject({ code: ErrorCodes.SANDBOX_UNAVAILABLE });
  });
});

test("through the engine, a fallback is in the result, the session log and the audit trail", async () => {
  const audit: AuditRecord[] = [];
  const sessions = new MemorySessionStore();
  const optimizer = new MCPOptimizer({
    sandboxConfig: { mode: "hybrid", maxExecutionTime: 10_000, maxMemoryMb: 96 },
    mcpServers: {},
    sessions,
    audit: { write: (r) => void audit.push(r) },
    sandbox: createHybridSandbox({
      sandboxes: {
        docker: new UnavailableSandbox("docker", "capabilities"),
        process: createProcessSandbox({ poolSize: 0 }),
      },
    }),
  });
  try {
    const result = await optimizer.run("return 'ran'", {
      sessionId: "hybrid-engine",
      hints: { mayDestroy: true },
    });
    const note = "fell back from docker (docker engine is down) to process";
    expect(result).toMatchObject({ value: "ran", mode: "process", notes: [note] });
    const record = await sessions.get("hybrid-engine");
    expect(record?.log.at(-1)).toMatchObject({ mode: "process", notes: [note] });
    expect(audit.find((r) => r.type === "execution")).toMatchObject({
      mode: "process",
      notes: [note],
    });
    // No fallback, no notes anywhere.
    const plain = await optimizer.run("return 1", {
      sessionId: "hybrid-engine",
      hints: { preferMode: "process" },
    });
    expect(plain.notes).toBeUndefined();
    expect((await sessions.get("hybrid-engine"))?.log.at(-1)?.notes).toBeUndefined();
  } finally {
    await optimizer.close();
    await sessions.close();
  }
}, 60_000);

test("the engine routes by what a program may reach: annotations, computed names, dynamic calls", async () => {
  const decisions: HybridDecision[] = [];
  const optimizer = new MCPOptimizer({
    sandboxConfig: { mode: "hybrid", maxExecutionTime: 10_000, maxMemoryMb: 96 },
    // "fail" is annotated read-only; "add_tool" carries no annotations (destructive by default).
    mcpServers: {
      dynamic: {
        command: process.execPath,
        args: [fileURLToPath(new URL("./fixtures/dynamic-server.mjs", import.meta.url))],
      },
    },
    sandbox: createHybridSandbox({
      sandboxes: {
        docker: createProcessSandbox({ poolSize: 0 }),
        wasm: createProcessSandbox({ poolSize: 0 }),
      },
      onDecision: (d) => decisions.push(d),
    }),
  });
  try {
    const programs = {
      plain: "return 1",
      readOnly: "if (false) await dynamic.fail({ reason: 'x' }); return 1",
      destructive: "if (false) await dynamic.add_tool({ name: 'x' }); return 1",
      computed: "const t = 'add' + '_tool'; if (false) await dynamic[t]({ name: 'x' }); return 1",
      mixedCalls:
        "if (false) { await mcp.call('dynamic', 'fail', {}); const t = 'add_tool'; await mcp.call('dynamic', t, {}); } return 1",
    };
    const modes: Record<string, string> = {};
    for (const [name, code] of Object.entries(programs)) {
      modes[name] = (await optimizer.run(code, { sessionId: "routing" })).mode;
    }
    expect(modes).toEqual({
      plain: "wasm",
      readOnly: "wasm",
      destructive: "docker",
      computed: "docker",
      mixedCalls: "docker",
    });
    expect(decisions.map((d) => d.rule)).toEqual([
      "default",
      "default",
      "container",
      "container",
      "container",
    ]);
  } finally {
    await optimizer.close();
  }
}, 60_000);

describe("a hybrid policy given as configuration", () => {
  test("routes by its rules and default modes", async () => {
    const config = parseSandboxConfig({
      mode: "hybrid",
      hybrid: {
        rules: [{ name: "writes", when: ["mayWrite", "needsFiles"], modes: ["docker"] }],
        defaultModes: ["wasm"],
      },
    });
    const decisions: HybridDecision[] = [];
    const hybrid = createHybridSandbox({
      sandboxes: {
        docker: createProcessSandbox({ poolSize: 0 }),
        wasm: createProcessSandbox({ poolSize: 0 }),
      },
      ...hybridPolicy(config.hybrid),
      onDecision: (d) => decisions.push(d),
    });
    try {
      const session = await hybrid.open();
      const modes = [];
      for (const hints of [{}, { mayWrite: true }, { needsFiles: true }, { mayDestroy: true }]) {
        modes.push((await session.execute(job("return 1", hints), host)).mode);
      }
      // mayDestroy alone is not named by the configured rule: the default modes take it.
      expect(modes).toEqual(["wasm", "docker", "docker", "wasm"]);
      expect(decisions.map((d) => d.rule)).toEqual(["default", "writes", "writes", "default"]);
      expect((await hybrid.capabilities()).details.rules).toEqual([
        { name: "writes", modes: ["docker"] },
      ]);
    } finally {
      await hybrid.close();
    }
  });

  test("no policy keeps the defaults; a wrong one is INVALID_CONFIG naming the field", () => {
    expect(hybridPolicy(undefined)).toEqual({});
    expect(hybridPolicy(parseSandboxConfig({ mode: "hybrid" }).hybrid)).toEqual({});
    for (const [hybrid, path] of [
      [{ rules: [{ name: "x", when: ["mayDestroy"], modes: ["vm"] }] }, "hybrid.rules.0.modes.0"],
      [{ rules: [{ name: "x", when: ["risky"], modes: ["docker"] }] }, "hybrid.rules.0.when.0"],
      [{ rules: [{ name: "x", when: [], modes: ["docker"] }] }, "hybrid.rules.0.when"],
      [{ defaultModes: ["hybrid"] }, "hybrid.defaultModes.0"],
      [{ rule: [] }, "hybrid"],
    ] as const) {
      expect(() => parseSandboxConfig({ mode: "hybrid", hybrid })).toThrow(
        expect.objectContaining({
          code: ErrorCodes.INVALID_CONFIG,
          message: expect.stringContaining(path),
        }),
      );
    }
  });
});
