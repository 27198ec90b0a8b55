import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  type AuditRecord,
  ErrorCodes,
  hasErrorCode,
  importPlugin,
  loadPluginSandbox,
  MCPOptimizer,
  MemorySessionStore,
} from "../src/index.js";
import { everythingServer } from "./helpers/servers.js";

const SECRET = "sk-test-9f8e7d6c5b4a";

describe("MCPOptimizer on the embedded defaults (process sandbox, memory sessions)", () => {
  let optimizer: MCPOptimizer;
  const audit: AuditRecord[] = [];
  const sessions = new MemorySessionStore();

  beforeAll(async () => {
    process.env.MCPO_TEST_HOST_SECRET = "host-only-value-123";
    optimizer = new MCPOptimizer({
      sandboxConfig: { mode: "process", maxExecutionTime: 5000, maxMemoryMb: 96 },
      mcpServers: {
        everything: { ...everythingServer(), env: { API_TOKEN: "${MCPO_TEST_TOKEN}" } },
      },
      env: { ...process.env, MCPO_TEST_TOKEN: SECRET },
      sessions,
      audit: { write: (r) => void audit.push(r) },
      maxOutputBytes: 1024 * 1024,
    });
    await optimizer.start();
  }, 60_000);

  afterAll(async () => {
    delete process.env.MCPO_TEST_HOST_SECRET;
    await optimizer?.close();
    await sessions.close();
  });

  test("runs TypeScript, returns the last expression and token figures", async () => {
    const result = await optimizer.run("const xs: number[] = [1, 2, 3];\nxs.map((x) => x * 2)");
    expect(result.value).toEqual([2, 4, 6]);
    expect(result.mode).toBe("process");
    expect(result.tokens.tokenizer).toBe("o200k_base");
    expect(result.tokens.used).toBeGreaterThan(0);
    expect(result.text).toContain("6");
  });

  test("chains upstream calls in one program and only the result reaches the model", async () => {
    const result = await optimizer.run(`
      const a = await everything.get_sum({ a: 2, b: 3 });
      const echoed = await everything.echo({ message: "sum is " + JSON.stringify(a) });
      return { a, echoed };
    `);
    expect(JSON.stringify(result.value)).toContain("5");
    expect(result.toolCalls.map((c) => c.tool)).toEqual(["get-sum", "echo"]);
    expect(result.tokens.plainMcp).toBeGreaterThan(result.tokens.used);
  });

  test("structured content comes back as data, declared tools are discoverable in code", async () => {
    const result = await optimizer.run(`
      const weather = await everything.get_structured_content({ location: "Chicago" });
      const hits = await mcp.search("structured content weather", { limit: 3, detail: "signature" });
      const described = await mcp.describe("everything.get-structured-content");
      return { weather, first: hits[0].name, readOnly: described.annotations.readOnlyHint };
    `);
    const value = result.value as {
      weather: Record<string, unknown>;
      first: string;
      readOnly: boolean;
    };
    expect(Object.keys(value.weather).sort()).toEqual(["conditions", "humidity", "temperature"]);
    expect(value.first).toBe("everything.get-structured-content");
    expect(value.readOnly).toBe(true);
  });

  test("state persists between executions of one session", async () => {
    const first = await optimizer.run(
      "state.visits = (state.visits ?? 0) + 1; return state.visits",
      { sessionId: "persist-1" },
    );
    const second = await optimizer.run(
      "state.visits = (state.visits ?? 0) + 1; return state.visits",
      { sessionId: "persist-1" },
    );
    expect([first.value, second.value]).toEqual([1, 2]);
    const record = await sessions.get("persist-1");
    expect(record?.state).toEqual({ visits: 2 });
    expect(record?.counters.executions).toBe(2);
    expect(record?.log.map((l) => l.outcome)).toEqual(["ok", "ok"]);
  });

  describe("bad input gets a typed error and the next execution works", () => {
    const cases: [string, string, string, number?][] = [
      ["empty code", "   ", ErrorCodes.INVALID_INPUT],
      ["a syntax error", "const = 1;", ErrorCodes.CODE_SYNTAX_ERROR],
      ["a TypeScript syntax error", "const x: number = ;", ErrorCodes.CODE_SYNTAX_ERROR],
      ["code that throws", "throw new Error('boom')", ErrorCodes.CODE_RUNTIME_ERROR],
      ["a non-serialisable value", "return { big: 10n }", ErrorCodes.RESULT_NOT_SERIALIZABLE],
      ["10 MB of output", "return 'x'.repeat(10 * 1024 * 1024)", ErrorCodes.SANDBOX_OUTPUT_LIMIT],
      ["an infinite loop", "while (true) {}", ErrorCodes.SANDBOX_TIMEOUT],
      [
        "a memory bomb",
        "const a = []; while (true) a.push(new Array(1e5).fill(1));",
        ErrorCodes.SANDBOX_MEMORY,
        30_000,
      ],
      ["an unknown tool", "return await everything.no_such_tool({})", ErrorCodes.TOOL_NOT_FOUND],
      [
        "an unknown server",
        "return await mcp.call('nowhere', 'echo', {})",
        ErrorCodes.SERVER_NOT_FOUND,
      ],
      [
        "wrong argument types",
        "return await everything.echo({ message: 42 })",
        ErrorCodes.TOOL_INVALID_ARGUMENTS,
      ],
      ["an import", "import fs from 'node:fs'; return 1", ErrorCodes.CODE_SYNTAX_ERROR],
    ];
    for (const [name, code, expected, timeoutMs = 1500] of cases) {
      test(name, async () => {
        const started = Date.now();
        await expect(optimizer.run(code, { timeoutMs })).rejects.toMatchObject({ code: expected });
        expect(Date.now() - started).toBeLessThan(timeoutMs + 20_000);
        expect((await optimizer.run("return 'still serving'")).value).toBe("still serving");
      }, 30_000);
    }

    test("a denied tool", async () => {
      const denied = optimizer.run("return await everything.echo({ message: 'hi' })", {
        sessionId: "restricted",
        allow: { tools: ["everything.get-sum"] },
      });
      await expect(denied).rejects.toMatchObject({ code: ErrorCodes.TOOL_DENIED });
      const allowed = await optimizer.run("return await everything.get_sum({ a: 1, b: 1 })", {
        sessionId: "restricted",
      });
      expect(JSON.stringify(allowed.value)).toContain("2");
    });

    test("syntax errors point at the line", async () => {
      const error = await optimizer.run("const a = 1;\nconst b = ;\nreturn a").catch((e) => e);
      expect(hasErrorCode(error, ErrorCodes.CODE_SYNTAX_ERROR)).toBe(true);
      expect(error.message).toMatch(/line 2/);
    });

    test("tool errors are catchable in code, with the code", async () => {
      const result = await optimizer.run(`
        try { await everything.echo({ message: 42 }); } catch (e) { return e.code; }
      `);
      expect(result.value).toBe(ErrorCodes.TOOL_INVALID_ARGUMENTS);
    });
  });

  test("a guest cannot read the host's environment or write a file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mcpo-guest-"));
    const target = join(dir, "escape.txt");
    try {
      const result = await optimizer.run(`
        const found = [];
        try { found.push(JSON.stringify(process.env)); } catch {}
        try { require("fs").writeFileSync(${JSON.stringify(target)}, "x"); found.push("wrote"); } catch {}
        try { (await import("node:fs")).writeFileSync(${JSON.stringify(target)}, "x"); found.push("wrote"); } catch {}
        return found.join(" ");
      `);
      expect(String(result.value)).not.toContain("host-only-value-123");
      expect(String(result.value)).not.toContain("wrote");
      expect(existsSync(target)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("configured secrets never reach the sandbox, the result, the log or the audit trail", async () => {
    // server-everything's get-env tool returns the server's whole environment, token included.
    const result = await optimizer.run(
      `
      const env = await everything.get_env({});
      console.log("env", JSON.stringify(env));
      return env;
    `,
      { sessionId: "secrets" },
    );
    const everything = JSON.stringify(result);
    expect(everything).toContain("API_TOKEN");
    expect(everything).not.toContain(SECRET);
    expect(everything).toContain("[REDACTED]");
    const record = await sessions.get("secrets");
    expect(JSON.stringify(record)).not.toContain(SECRET);
    expect(JSON.stringify(audit)).not.toContain(SECRET);
  });

  test("audits every execution and every tool call", async () => {
    audit.length = 0;
    const result = await optimizer.run("await everything.echo({ message: 'a' }); return 1", {
      actor: "test-suite",
    });
    const records = audit.filter((r) => r.executionId === result.executionId);
    expect(records.map((r) => r.type).sort()).toEqual(["execution", "tool_call"]);
    const call = records.find((r) => r.type === "tool_call")!;
    expect(call).toMatchObject({
      server: "everything",
      tool: "echo",
      outcome: "ok",
      actor: "test-suite",
      args: { message: "a" },
    });
  });

  test("results over the token budget are cut with a notice", async () => {
    const small = new MCPOptimizer({ sandboxConfig: { mode: "process" }, maxResultTokens: 50 });
    try {
      const result = await small.run("return Array.from({ length: 500 }, (_, i) => 'item ' + i)");
      expect(result.truncated).toBe(true);
      expect(result.text).toMatch(/Result cut: .* over the 50-token budget/);
      expect((result.value as string[]).length).toBe(500);
    } finally {
      await small.close();
    }
  });

  test("operations run by name with validated params", async () => {
    optimizer.registerOperation({
      name: "double_sum",
      inputSchema: {
        type: "object",
        properties: { a: { type: "number" }, b: { type: "number" } },
        required: ["a", "b"],
        additionalProperties: false,
      },
      code: "const r = await everything.get_sum({ a: params.a, b: params.b }); return { doubled: JSON.stringify(r) }",
    });
    optimizer.registerOperation({ name: "echo_tool", tool: "everything.echo" });
    const result = await optimizer.execute({ operation: "double_sum", params: { a: 20, b: 1 } });
    expect(JSON.stringify(result.value)).toContain("21");
    const echoed = await optimizer.execute({
      operation: "echo_tool",
      params: { message: "via tool" },
    });
    expect(JSON.stringify(echoed.value)).toContain("via tool");
    await expect(
      optimizer.execute({ operation: "double_sum", params: { a: "x" } }),
    ).rejects.toMatchObject({
      code: ErrorCodes.OPERATION_INVALID_PARAMS,
    });
    await expect(optimizer.execute({ operation: "missing" })).rejects.toMatchObject({
      code: ErrorCodes.OPERATION_NOT_FOUND,
    });
  });

  test("capabilities report the sandbox, upstreams and store", async () => {
    const caps = await optimizer.capabilities();
    expect(caps.sandbox).toMatchObject({ mode: "process", available: true, isolation: "resource" });
    expect(caps.upstreams[0]).toMatchObject({
      name: "everything",
      connected: true,
      transport: "stdio",
    });
    expect(caps.upstreams[0]!.tools).toBeGreaterThan(5);
    expect(caps.upstreams[0]!.toolDefinitionTokens).toBeGreaterThan(100);
    expect(caps.sessions).toEqual({ kind: "memory", reachable: true });
  });
});

describe("an upstream that cannot start", () => {
  test("is listed as not connected, with no tools and no definition tokens; the others serve", async () => {
    const optimizer = new MCPOptimizer({
      sandboxConfig: { mode: "process" },
      mcpServers: {
        everything: everythingServer(),
        broken: { command: process.execPath, args: ["-e", "process.exit(3)"] },
      },
    });
    try {
      const caps = await optimizer.capabilities();
      const broken = caps.upstreams.find((u) => u.name === "broken")!;
      expect(broken).toMatchObject({ connected: false, tools: 0, toolDefinitionTokens: 0 });
      const result = await optimizer.run("return (await everything.get_sum({ a: 2, b: 3 }))");
      expect(JSON.stringify(result.value)).toContain("5");
    } finally {
      await optimizer.close();
    }
  }, 60_000);
});

describe("configuration", () => {
  test("wrong and unknown fields are rejected with their path", () => {
    expect(() => new MCPOptimizer({ sandboxConfig: { mode: "vm" as never } })).toThrow(
      expect.objectContaining({
        code: ErrorCodes.INVALID_CONFIG,
        message: expect.stringContaining("sandboxConfig.mode"),
      }),
    );
    expect(() => new MCPOptimizer({ sandboxConfig: { maxExecutionTime: -1 } })).toThrow(
      /sandboxConfig\.maxExecutionTime/,
    );
    expect(() => new MCPOptimizer({ sandboxConfig: { timeout: 5 } as never })).toThrow(
      /unknown field "timeout"/,
    );
    expect(() => new MCPOptimizer({ mcpServers: { gh: { command: "x", argz: [] } } })).toThrow(
      /mcpServers\.gh/,
    );
    expect(() => new MCPOptimizer({ mcpServers: { gh: { url: "ftp://x" } } })).toThrow(
      /mcpServers\.gh/,
    );
    expect(() => new MCPOptimizer({ mcpServers: { "bad name!": { command: "x" } } })).toThrow(
      /mcpServers/,
    );
  });

  test("an allowlist of the wrong shape is refused, never read as allowing more", async () => {
    expect(
      () => new MCPOptimizer({ sessionDefaults: { allow: { github: ["list_issues"] } as never } }),
    ).toThrow(
      expect.objectContaining({
        code: ErrorCodes.INVALID_CONFIG,
        message: expect.stringMatching(/sessionDefaults\.allow .* unknown key "github"/),
      }),
    );
    expect(
      () => new MCPOptimizer({ sessionDefaults: { allow: { tools: "x.*" } as never } }),
    ).toThrow(/its "tools" is "x\.\*"/);
    const optimizer = new MCPOptimizer();
    try {
      await expect(
        optimizer.run("return 1", { allow: { servers: [1] } as never }),
      ).rejects.toMatchObject({ code: ErrorCodes.INVALID_CONFIG });
      expect((await optimizer.run("return 1", { allow: { servers: [] } })).value).toBe(1);
    } finally {
      await optimizer.close();
    }
  });

  test("${VAR} expansion fails clearly for unset variables and honours defaults", () => {
    expect(
      () =>
        new MCPOptimizer({
          mcpServers: { gh: { command: "x", env: { T: "${NOPE_NOT_SET}" } } },
          env: {},
        }),
    ).toThrow(/mcpServers\.gh\.env\.T uses \$\{NOPE_NOT_SET\}/);
    expect(
      () => new MCPOptimizer({ mcpServers: { gh: { command: "${BIN:-node}" } }, env: {} }),
    ).not.toThrow();
  });

  test("a mode whose package is not installed says what to install", async () => {
    const limits = { timeoutMs: 1000, maxMemoryMb: 64, maxOutputBytes: 1024, maxLogBytes: 1024 };
    expect(await importPlugin("@mcp-optimizer/not-installed")).toBeUndefined();
    await expect(
      loadPluginSandbox("wasm", limits, { wasm: "@mcp-optimizer/not-installed" }),
    ).rejects.toMatchObject({
      code: ErrorCodes.SANDBOX_UNAVAILABLE,
      message: expect.stringContaining("pnpm add @mcp-optimizer/not-installed"),
    });
    await expect(loadPluginSandbox("vm", limits)).rejects.toMatchObject({
      code: ErrorCodes.INVALID_CONFIG,
    });
  });
});
