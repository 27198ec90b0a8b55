import { describe, expect, test } from "vitest";
import {
  approximateTokenizer,
  BridgeRun,
  checkToolAllowed,
  compileProgram,
  createRedactor,
  ErrorCodes,
  FrameDecoder,
  type OptimizerError,
  shapeToBudget,
  unwrapToolResult,
  validateGuestFrame,
} from "../src/index.js";

describe("compileProgram", () => {
  test("plain JavaScript passes through; the last expression is returned", async () => {
    const p = await compileProgram("const a = 1;\na + 1");
    expect(p.language).toBe("javascript");
    expect(p.code).toContain("return (a + 1);");
  });

  test("TypeScript is stripped by esbuild", async () => {
    const p = await compileProgram(
      "interface X { a: number }\nconst x: X = { a: 1 };\nreturn x.a as number;",
    );
    expect(p.language).toBe("typescript");
    expect(p.code).not.toContain("interface");
    expect(p.code).toContain("return x.a");
  });

  test("an explicit return is kept; directives and declarations are not returned", async () => {
    expect((await compileProgram("return 5")).code).toBe("return 5");
    expect((await compileProgram("'use strict'")).code).toBe("'use strict'");
    expect((await compileProgram("function f() {}")).code).toBe("function f() {}");
  });

  test("references to server members and literal mcp.call names are collected", async () => {
    const p = await compileProgram(
      "await github.list_issues({}); await mcp.call('slack', 'post_message', {}); files['read-file']({})",
    );
    expect(p.references).toEqual(
      expect.arrayContaining([
        ["github", "list_issues"],
        ["files", "read-file"],
      ]),
    );
    expect(p.literalCalls).toEqual([["slack", "post_message"]]);
    expect(p).toMatchObject({ dynamicCalls: false, computedRefs: [] });
  });

  test("calls whose target is only known at run time are flagged", async () => {
    const dynamic = async (code: string) => {
      const p = await compileProgram(code);
      return { dynamicCalls: p.dynamicCalls, computedRefs: p.computedRefs };
    };
    // One literal call does not hide a computed one next to it.
    expect(
      await dynamic(
        "await mcp.call('a', 'read', {}); const t = 'drop'; await mcp.call('a', t, {})",
      ),
    ).toEqual({ dynamicCalls: true, computedRefs: [] });
    expect(await dynamic("const call = mcp.call; await call('a', 'drop', {})")).toEqual({
      dynamicCalls: true,
      computedRefs: [],
    });
    expect(await dynamic("await mcp['call']('a', 'read', {})")).toEqual({
      dynamicCalls: false,
      computedRefs: [],
    });
    expect(await dynamic("const name = 'delete_repo'; await github[name]({})")).toEqual({
      dynamicCalls: false,
      computedRefs: ["github"],
    });
    expect(await dynamic("const k = 'call'; await mcp[k]('a', 'b', {})")).toEqual({
      dynamicCalls: false,
      computedRefs: ["mcp"],
    });
  });

  test("syntax errors carry line and column of the program, not the wrapper", async () => {
    const error = (await compileProgram("const ok = 1;\nconst x: number = ;").catch(
      (e) => e,
    )) as OptimizerError;
    expect(error.code).toBe(ErrorCodes.CODE_SYNTAX_ERROR);
    expect(error.details).toMatchObject({ line: 2 });
  });

  test("a program that ends too early is pointed at its own last line, not the wrapper's", async () => {
    const error = (await compileProgram("const a = 1;\nreturn a +").catch(
      (e) => e,
    )) as OptimizerError;
    expect(error.code).toBe(ErrorCodes.CODE_SYNTAX_ERROR);
    expect(error.details).toMatchObject({ line: 2, column: 11 });
    expect(error.message).toContain("ends too early");
  });

  test("empty and oversized programs are INVALID_INPUT", async () => {
    await expect(compileProgram("")).rejects.toMatchObject({ code: ErrorCodes.INVALID_INPUT });
    await expect(compileProgram(42)).rejects.toMatchObject({ code: ErrorCodes.INVALID_INPUT });
    await expect(compileProgram("x".repeat(300_000))).rejects.toMatchObject({
      code: ErrorCodes.INVALID_INPUT,
    });
  });
});

describe("createRedactor", () => {
  const r = createRedactor(["sk-live-123456", "hunter2-password", "ab"]);
  test("replaces every secret in text and JSON (keys too), ignores too-short ones", () => {
    expect(r.text("token sk-live-123456 and hunter2-password, ab")).toBe(
      "token [REDACTED] and [REDACTED], ab",
    );
    expect(r.json({ "sk-live-123456": ["x hunter2-password"], n: 1 })).toEqual({
      "[REDACTED]": ["x [REDACTED]"],
      n: 1,
    });
    expect(r.leaks("...sk-live-123456...")).toBe(true);
    expect(r.leaks("clean")).toBe(false);
    expect(r.size).toBe(2);
  });
  test("regex metacharacters in secrets are literal", () => {
    expect(createRedactor(["a.b*c(d)"]).text("a.b*c(d) axbbbcd")).toBe("[REDACTED] axbbbcd");
  });
});

describe("checkToolAllowed", () => {
  test("absent lists allow; patterns match; deny wins", () => {
    expect(checkToolAllowed({}, "github", "list_issues").allowed).toBe(true);
    expect(checkToolAllowed({ servers: ["github"] }, "slack", "post").allowed).toBe(false);
    expect(checkToolAllowed({ tools: ["github.list_*"] }, "github", "list_issues").allowed).toBe(
      true,
    );
    expect(checkToolAllowed({ tools: ["github.list_*"] }, "github", "delete_repo").allowed).toBe(
      false,
    );
    expect(
      checkToolAllowed({ tools: ["github.*"], deny: ["github.delete_*"] }, "github", "delete_repo")
        .allowed,
    ).toBe(false);
  });
});

describe("shapeToBudget", () => {
  test("texts under the budget are untouched; over it they are cut with a notice within budget", () => {
    expect(shapeToBudget("short", approximateTokenizer, 100)).toMatchObject({
      text: "short",
      truncated: false,
    });
    const long = "word ".repeat(5000);
    const shaped = shapeToBudget(long, approximateTokenizer, 300);
    expect(shaped.truncated).toBe(true);
    expect(shaped.tokens).toBeLessThanOrEqual(300);
    expect(shaped.fullTokens).toBe(approximateTokenizer.count(long));
    expect(shaped.text).toMatch(/Filter, aggregate or slice the data in code/);
  });
});

describe("unwrapToolResult", () => {
  test("structured content first, then JSON text, then text, then the blocks", () => {
    expect(
      unwrapToolResult({ content: [{ type: "text", text: "{}" }], structuredContent: { a: 1 } }),
    ).toEqual({ a: 1 });
    expect(unwrapToolResult({ content: [{ type: "text", text: '[1,{"b":2}]' }] })).toEqual([
      1,
      { b: 2 },
    ]);
    expect(unwrapToolResult({ content: [{ type: "text", text: "plain 42" }] })).toBe("plain 42");
    expect(unwrapToolResult({ content: [{ type: "text", text: "123" }] })).toBe("123");
    expect(
      unwrapToolResult({
        content: [
          { type: "text", text: "a" },
          { type: "text", text: '{"x":1}' },
        ],
      }),
    ).toEqual(["a", { x: 1 }]);
    const image = { type: "image", data: "AAAA", mimeType: "image/png" };
    expect(unwrapToolResult({ content: [image] })).toEqual([image]);
  });
});

describe("the bridge's frame handling", () => {
  test("lines are split across chunks and over-long lines are refused once", () => {
    const lines: string[] = [];
    const errors: string[] = [];
    const d = new FrameDecoder(
      20,
      (l) => lines.push(l),
      (e) => errors.push(e.code),
    );
    d.push('{"a":');
    d.push('1}\n{"b":2}\n\n');
    expect(lines).toEqual(['{"a":1}', '{"b":2}']);
    d.push("x".repeat(25));
    d.push("\n");
    expect(errors).toEqual([ErrorCodes.SANDBOX_OUTPUT_LIMIT]);
  });

  test("multi-byte characters split between chunks survive", () => {
    const lines: string[] = [];
    const d = new FrameDecoder(
      100,
      (l) => lines.push(l),
      () => {},
    );
    const bytes = Buffer.from('"héllo ✓"\n');
    d.push(bytes.subarray(0, 3));
    d.push(bytes.subarray(3));
    expect(lines).toEqual(['"héllo ✓"']);
  });

  test("frames are validated with a clear message", () => {
    expect(() => validateGuestFrame([])).toThrow(/not a JSON object/);
    expect(() => validateGuestFrame({ t: "nope" })).toThrow(/unknown frame type/);
    expect(() => validateGuestFrame({ t: "call", id: 1.5, run: "r", kind: "tool" })).toThrow(
      /integer "id"/,
    );
    expect(() => validateGuestFrame({ t: "call", id: 1, run: "r", kind: "exec" })).toThrow(
      /unknown call kind/,
    );
    expect(() => validateGuestFrame({ t: "log", run: "r", level: "shout", text: "x" })).toThrow(
      /log level/,
    );
    expect(validateGuestFrame({ t: "done", run: "r", state: {} })).toMatchObject({ t: "done" });
  });

  test("an answer the host cannot encode reaches the program as a typed refusal", async () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const written: string[] = [];
    const run = new BridgeRun({
      job: {
        id: "r",
        code: "",
        servers: [],
        state: {},
        limits: { timeoutMs: 5000, maxMemoryMb: 64, maxOutputBytes: 1 << 20, maxLogBytes: 1024 },
      },
      host: { call: async () => deep as never },
      write: (data) => written.push(data),
      mode: "test",
      onAbort: () => {},
    });
    run.push('{"t":"call","id":1,"run":"r","kind":"tool","server":"s","tool":"t","args":{}}\n');
    await new Promise((r) => setTimeout(r, 10));
    const reply = JSON.parse(written[1]!);
    expect(reply).toMatchObject({
      t: "result",
      id: 1,
      ok: false,
      error: { code: ErrorCodes.RESULT_NOT_SERIALIZABLE },
    });
    run.push('{"t":"error","run":"r","error":{"code":"RESULT_NOT_SERIALIZABLE","message":"x"}}\n');
    await expect(run.outcome).rejects.toMatchObject({ code: ErrorCodes.RESULT_NOT_SERIALIZABLE });
  });
});
