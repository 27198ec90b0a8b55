import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AuditRecord, hasErrorCode, MCPOptimizer, REDACTED } from "@mcp-optimizer/core";
import {
  describeAuditSink,
  sampleExecutionRecord,
  sampleToolCallRecord,
} from "@mcp-optimizer/core/testing";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createFileAuditSink, type FileAuditSink, readAuditFile } from "../src/index.js";
import { everythingServer } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "mcpo-audit-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SINK_SECRET = "db-password-7f6e5d4c3b";

describeAuditSink(
  "FileAuditSink",
  () => createFileAuditSink({ path: join(dir, "conf.jsonl"), secrets: [SINK_SECRET] }),
  {
    read: () => readAuditFile(join(dir, "conf.jsonl")),
    secret: SINK_SECRET,
  },
);

describeAuditSink(
  "FileAuditSink rotating every few records",
  () =>
    createFileAuditSink({
      path: join(dir, "conf-rot.jsonl"),
      maxBytes: 1024,
      maxFiles: 50,
      secrets: [SINK_SECRET],
    }),
  { read: () => readAuditFile(join(dir, "conf-rot.jsonl")), secret: SINK_SECRET },
);

describe("FileAuditSink rotation", () => {
  test("rotates by size, keeps maxFiles rotated files, drops the oldest, never splits a line", async () => {
    const path = join(dir, "rot", "audit.jsonl");
    const sink = createFileAuditSink({ path, maxBytes: 2048, maxFiles: 2 });
    for (let i = 0; i < 100; i++) sink.write(sampleExecutionRecord(`rot-${i}`));
    await sink.flush();
    const files = readdirSync(join(dir, "rot")).sort();
    expect(files).toEqual(["audit.jsonl", "audit.jsonl.1", "audit.jsonl.2"]);
    for (const f of files) {
      const text = readFileSync(join(dir, "rot", f), "utf8");
      expect(statSync(join(dir, "rot", f)).size).toBeLessThanOrEqual(2048);
      expect(text.endsWith("\n")).toBe(true);
      for (const line of text.trimEnd().split("\n")) expect(() => JSON.parse(line)).not.toThrow();
    }
    const kept = (await readAuditFile(path)).map((r) => r.executionId);
    // The newest records survive, in order, without gaps.
    expect(kept.at(-1)).toBe("rot-99");
    const first = Number(kept[0]!.slice(4));
    expect(first).toBeGreaterThan(0);
    expect(kept).toEqual(Array.from({ length: 100 - first }, (_, i) => `rot-${first + i}`));
    // Appending after a restart continues the current file instead of truncating it.
    await sink.close();
    const again = createFileAuditSink({ path, maxBytes: 2048, maxFiles: 2 });
    again.write(sampleExecutionRecord("after-restart"));
    await again.close();
    const after = (await readAuditFile(path)).map((r) => r.executionId);
    expect(after.at(-1)).toBe("after-restart");
    expect(after).toContain("rot-99");
  });

  test("maxFiles 0 keeps only the current file", async () => {
    const path = join(dir, "rot0", "audit.jsonl");
    const sink = createFileAuditSink({ path, maxBytes: 1024, maxFiles: 0 });
    for (let i = 0; i < 30; i++) sink.write(sampleExecutionRecord(`zero-${i}`));
    await sink.close();
    expect(readdirSync(join(dir, "rot0"))).toEqual(["audit.jsonl"]);
    expect((await readAuditFile(path)).at(-1)?.executionId).toBe("zero-29");
  });

  test("a write that cannot land is reported, never thrown, and the sink recovers", async () => {
    const blocker = join(dir, "not-a-dir");
    writeFileSync(blocker, "x");
    const errors: Error[] = [];
    const sink = createFileAuditSink({
      path: join(blocker, "audit.jsonl"),
      onError: (e) => errors.push(e),
    });
    expect(() => sink.write(sampleExecutionRecord("lost"))).not.toThrow();
    await sink.flush();
    expect(errors.length).toBeGreaterThan(0);
    expect((errors[0] as NodeJS.ErrnoException).code).toMatch(/ENOTDIR|EEXIST/);
    rmSync(blocker);
    sink.write(sampleExecutionRecord("landed"));
    await sink.close();
    expect((await readAuditFile(join(blocker, "audit.jsonl"))).map((r) => r.executionId)).toEqual([
      "landed",
    ]);
  });

  test("bad options are INVALID_CONFIG", () => {
    for (const options of [
      { path: "" },
      { path: "x", maxBytes: 10 },
      { path: "x", maxFiles: -1 },
    ]) {
      let caught: unknown;
      try {
        createFileAuditSink(options);
      } catch (error) {
        caught = error;
      }
      expect(hasErrorCode(caught, "INVALID_CONFIG")).toBe(true);
    }
  });

  test("argument policy: sensitive names are redacted; 'keys' keeps names only; 'none' drops them", async () => {
    const args = {
      query: "open bugs",
      githubToken: "ghp_abc",
      nested: { password: "hunter22", page: 2 },
    };
    const read = async (policy: "full" | "keys" | "none") => {
      const path = join(dir, `policy-${policy}.jsonl`);
      const sink = createFileAuditSink({ path, argumentsPolicy: policy });
      sink.write(sampleToolCallRecord(`policy-${policy}`, args));
      await sink.close();
      return (await readAuditFile(path))[0] as Extract<AuditRecord, { type: "tool_call" }>;
    };
    expect((await read("full")).args).toEqual({
      query: "open bugs",
      githubToken: REDACTED,
      nested: { password: REDACTED, page: 2 },
    });
    expect((await read("keys")).args).toEqual(["query", "githubToken", "nested"]);
    expect("args" in (await read("none"))).toBe(false);
  });
});

describe("FileAuditSink behind MCPOptimizer with a real MCP server", () => {
  const CONFIG_SECRET = "sk-live-audit-1a2b3c4d5e";
  const path = join(dir, "engine", "audit.jsonl");
  let optimizer: MCPOptimizer;
  let sink: FileAuditSink;

  beforeAll(async () => {
    sink = createFileAuditSink({ path, maxBytes: 64 * 1024, secrets: [SINK_SECRET] });
    optimizer = new MCPOptimizer({
      sandboxConfig: { mode: "process", maxExecutionTime: 10_000 },
      // The token reaches the upstream through its environment; core learns it as a secret.
      mcpServers: {
        everything: { ...everythingServer(), env: { API_TOKEN: "${MCPO_AUDIT_TOKEN}" } },
      },
      env: { MCPO_AUDIT_TOKEN: CONFIG_SECRET },
      audit: sink,
    });
    await optimizer.start();
  }, 60_000);

  afterAll(async () => {
    await optimizer?.close();
  });

  test("one line per execution and per tool call, with who, session, tool, args, sizes, durations, outcomes", async () => {
    const result = await optimizer.run(
      `const sum = await everything.get_sum({ a: 4, b: 5 });
       await everything.echo({ message: "sum " + JSON.stringify(sum) });
       return sum;`,
      { sessionId: "audit-1", tenant: "acme", actor: "claude-desktop" },
    );
    await sink.flush();
    const lines = readFileSync(path, "utf8").trimEnd().split("\n");
    const records = lines
      .map((l) => JSON.parse(l) as AuditRecord)
      .filter((r) => r.executionId === result.executionId);
    expect(records.map((r) => r.type)).toEqual(["tool_call", "tool_call", "execution"]);
    for (const r of records) {
      expect(r).toMatchObject({
        sessionId: "audit-1",
        tenant: "acme",
        actor: "claude-desktop",
        outcome: "ok",
      });
      expect(r.durationMs).toBeGreaterThanOrEqual(0);
      expect(Date.parse(r.at)).not.toBeNaN();
    }
    const [sum, echo, execution] = records as [
      Extract<AuditRecord, { type: "tool_call" }>,
      Extract<AuditRecord, { type: "tool_call" }>,
      Extract<AuditRecord, { type: "execution" }>,
    ];
    expect(sum).toMatchObject({
      server: "everything",
      tool: "get-sum",
      args: { a: 4, b: 5 },
      attempts: 1,
    });
    expect(sum.resultBytes).toBeGreaterThan(0);
    expect(echo).toMatchObject({ tool: "echo", args: { message: expect.stringContaining("sum") } });
    expect(execution).toMatchObject({ kind: "run", mode: "process", toolCalls: 2 });
    expect(execution.resultBytes).toBe(Buffer.byteLength(result.text));
    expect(execution.tokens).toEqual({
      used: result.tokens.used,
      plainMcp: result.tokens.plainMcp,
    });
    expect(execution.code).toContain("everything.get_sum");
  });

  test("secrets the guest tried to log, pass and return never reach the file", async () => {
    const result = await optimizer.run(
      `console.log("leaking ${CONFIG_SECRET} and ${SINK_SECRET}");
       const echoed = await everything.echo({ message: "${CONFIG_SECRET}" });
       await everything.echo({ message: "${SINK_SECRET}" });
       try { await everything.echo({ message: 7, note: "${CONFIG_SECRET}" }); } catch {}
       return echoed;`,
      { sessionId: "audit-2" },
    );
    expect(result.text).not.toContain(CONFIG_SECRET);
    await sink.flush();
    const text = readFileSync(path, "utf8");
    const mine = text.split("\n").filter((l) => l.includes(result.executionId));
    expect(mine).toHaveLength(4); // three tool calls and the execution
    expect(mine.join("\n")).toContain(REDACTED);
    expect(text).not.toContain(CONFIG_SECRET);
    expect(text).not.toContain(SINK_SECRET);
    const failed = mine.map((l) => JSON.parse(l) as AuditRecord).find((r) => r.outcome === "error");
    expect(failed).toMatchObject({ type: "tool_call", errorCode: "TOOL_INVALID_ARGUMENTS" });
  });
});
