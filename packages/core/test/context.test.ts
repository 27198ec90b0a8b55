import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  type AuditRecord,
  ErrorCodes,
  type ExecutionAuditRecord,
  MCPOptimizer,
  MemorySessionStore,
} from "../src/index.js";
import { memoryServer } from "./helpers/servers.js";

const SECRET = "sk-context-secret-9f8e7d6c";

describe("context: a principal's keys across sessions (process sandbox, memory store, server-memory)", () => {
  let dir: string;
  let optimizer: MCPOptimizer;
  const sessions = new MemorySessionStore();
  const audit: AuditRecord[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "mcpo-context-"));
    optimizer = new MCPOptimizer({
      sandboxConfig: { mode: "process" },
      mcpServers: { memory: memoryServer(join(dir, "graph.jsonl")) },
      sessions,
      secrets: [SECRET],
      audit: { write: (r) => void audit.push(r) },
      context: { maxBytes: 4096, maxEntries: 50 },
    });
    await optimizer.start();
  }, 60_000);

  afterAll(async () => {
    await optimizer?.close();
    await sessions.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const executions = () => audit.filter((r): r is ExecutionAuditRecord => r.type === "execution");

  test("what one session writes, the principal's next session reads; another principal or tenant sees nothing", async () => {
    await optimizer.run(
      `await context.set("account", { id: "acct-42" }); await context.set("note", "call back"); return 1;`,
      { sessionId: "conv-1", principal: "alice" },
    );
    const next = await optimizer.run(
      `return { account: await context.get("account"), keys: (await context.list()).map((e) => e.key) };`,
      { sessionId: "conv-2", principal: "alice" },
    );
    expect(next.value).toEqual({ account: { id: "acct-42" }, keys: ["account", "note"] });
    const bob = await optimizer.run(
      `return { a: await context.get("account") ?? null, n: (await context.list()).length };`,
      {
        sessionId: "conv-3",
        principal: "bob",
      },
    );
    expect(bob.value).toEqual({ a: null, n: 0 });
    const otherTenant = await optimizer.run(`return (await context.list()).length;`, {
      sessionId: "conv-4",
      principal: "alice",
      tenant: "other",
    });
    expect(otherTenant.value).toBe(0);
    // The API reads the same keys.
    const api = await optimizer.context({ principal: "alice" });
    expect(await api.get("note")).toBe("call back");
    expect(
      await (await optimizer.context({ principal: "alice", tenant: "other" })).get("note"),
    ).toBeUndefined();
  });

  test("sessions of one principal running at once lose no update: update() reports conflicts, the program retries", async () => {
    const api = await optimizer.context({ principal: "carol" });
    await api.set("visits", 0);
    // Every session reads the counter, then waits at a barrier until all have read it: the
    // first updates really race, one wins and seven report the conflict and retry.
    const program = (i: number) => `
      let seen = await context.get("visits");
      await context.set("ready/${i}", true);
      while (!(await context.get("go"))) await new Promise((r) => setTimeout(r, 20));
      for (let attempt = 0; attempt < 100; attempt++) {
        const r = await context.update("visits", seen, seen + 1);
        if (r.ok) return attempt;
        seen = r.current;
      }
      throw new Error("no turn in 100 attempts");`;
    const runs = Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        optimizer.run(program(i), { sessionId: `carol-${i}`, principal: "carol" }),
      ),
    );
    for (let waited = 0; (await api.list("ready/")).length < 8; waited++) {
      if (waited > 1500) throw new Error("the sessions never all reached the barrier");
      await new Promise((r) => setTimeout(r, 20));
    }
    await api.set("go", true);
    const results = await runs;
    expect(await api.get("visits")).toBe(8);
    const retries = results.reduce((n, r) => n + (r.value as number), 0);
    expect(results.filter((r) => r.value === 0).length).toBe(1);
    expect(retries).toBeGreaterThanOrEqual(7);
    const conflicts = executions()
      .filter((r) => r.sessionId.startsWith("carol-"))
      .flatMap((r) => r.context?.writes ?? [])
      .filter((w) => w.conflict).length;
    expect(conflicts).toBe(retries);
  });

  test("what a program read is in the audit record, with secrets redacted as results are; writes are keys only", async () => {
    const api = await optimizer.context({ principal: "dave" });
    await api.set("creds", { token: SECRET, user: "dave" });
    const result = await optimizer.run(
      `const c = await context.get("creds"); await context.set("seen", true); await context.get("nothing"); return c;`,
      { sessionId: "dave-1", principal: "dave", actor: "test" },
    );
    // The secret never entered the sandbox: the program read it redacted.
    expect(JSON.stringify(result.value)).not.toContain(SECRET);
    expect(result.value).toEqual({ token: "[REDACTED]", user: "dave" });
    const record = executions().find((r) => r.sessionId === "dave-1")!;
    expect(record.context).toEqual({
      principal: "dave",
      reads: [
        { key: "creds", found: true, version: 1, value: { token: "[REDACTED]", user: "dave" } },
        { key: "nothing", found: false },
      ],
      writes: [{ op: "set", key: "seen", version: 1 }],
    });
    expect(JSON.stringify(audit)).not.toContain(SECRET);
    // A program that does not touch context leaves no context in its record.
    await optimizer.run("return 1", { sessionId: "dave-2", principal: "dave" });
    expect(executions().find((r) => r.sessionId === "dave-2")!.context).toBeUndefined();
  });

  test("caps name themselves (CONTEXT_TOO_LARGE); TTLs expire keys; bad input is typed", async () => {
    const failed = await optimizer
      .run(`await context.set("big", "x".repeat(5000)); return 1;`, {
        sessionId: "erin-1",
        principal: "erin",
      })
      .catch((e) => e);
    expect(failed).toMatchObject({ code: ErrorCodes.CONTEXT_TOO_LARGE });
    expect(failed.message).toContain("context.maxBytes");
    const caught = await optimizer.run(
      `try { await context.set("big", "x".repeat(5000)); } catch (e) { return [e.code, e.message]; }`,
      { sessionId: "erin-2", principal: "erin" },
    );
    expect(caught.value).toEqual([ErrorCodes.CONTEXT_TOO_LARGE, expect.stringContaining("4096")]);
    // 51 writes at once against a cap of 50 keys: this process checks and writes them one at a time.
    const api = await optimizer.context({ principal: "erin" });
    const outcomes = await Promise.all(
      Array.from({ length: 51 }, (_, i) =>
        api.set(`k${String(i).padStart(2, "0")}`, i).then(
          () => "ok",
          (e) => e.code,
        ),
      ),
    );
    expect(outcomes.filter((o) => o === "ok")).toHaveLength(50);
    expect(outcomes.filter((o) => o === ErrorCodes.CONTEXT_TOO_LARGE)).toHaveLength(1);
    expect((await api.stats()).entries).toBe(50);

    const ttl = await optimizer.run(
      `await context.set("short", 1, { ttl: 300 }); const before = await context.get("short");
       await new Promise((r) => setTimeout(r, 700)); return [before, await context.get("short") ?? "gone"];`,
      { sessionId: "frank-1", principal: "frank" },
    );
    expect(ttl.value).toEqual([1, "gone"]);
    const bad = await optimizer.run(
      `const out = [];
       for (const f of [() => context.set("k", 1, { ttl: -1 }), () => context.get(42), () => context.set("", 1), () => context.set("k")]) {
         try { await f(); out.push("ok"); } catch (e) { out.push(e.code); }
       }
       return out;`,
      { sessionId: "frank-2", principal: "frank" },
    );
    expect(bad.value).toEqual(["INVALID_INPUT", "INVALID_INPUT", "INVALID_INPUT", "INVALID_INPUT"]);
    await expect(optimizer.context({ principal: "" })).rejects.toMatchObject({
      code: ErrorCodes.INVALID_INPUT,
    });
  });

  test("mcp.capabilities() tells a program its servers, tools, sandbox mode and flags", async () => {
    const caps = await optimizer.run("return await mcp.capabilities();", { sessionId: "caps-1" });
    const value = caps.value as {
      servers: { name: string; global: string; tools: number }[];
      tools: number;
      sandbox: { mode: string };
      features: Record<string, boolean>;
    };
    expect(value.servers).toEqual([
      { name: "memory", global: "memory", tools: expect.any(Number) },
    ]);
    expect(value.tools).toBe(value.servers[0]!.tools);
    expect(value.tools).toBeGreaterThan(3);
    expect(value.sandbox).toEqual({ mode: "process" });
    expect(value.features).toMatchObject({ context: true, privacy: true, "sandbox.docker": true });
    // A session allowed no server sees none.
    const narrow = await optimizer.run("return await mcp.capabilities();", {
      sessionId: "caps-2",
      allow: { servers: [] },
    });
    expect((narrow.value as { servers: unknown[]; tools: number }).servers).toEqual([]);
  });

  test("the context flag switches it off for programs and the API; changes are audited; sandbox flags take a restart", async () => {
    const changes = optimizer.setFeatures({ context: false }, { actor: "operator" });
    expect(changes).toEqual([{ flag: "context", from: true, to: false, source: "config" }]);
    const off = await optimizer.run(
      `try { await context.get("x"); return "read"; } catch (e) { return [e.code, e.message]; }`,
      { sessionId: "off-1", principal: "alice" },
    );
    expect(off.value).toEqual([ErrorCodes.FEATURE_DISABLED, expect.stringContaining('"context"')]);
    await expect(optimizer.context({ principal: "alice" })).rejects.toMatchObject({
      code: ErrorCodes.FEATURE_DISABLED,
      details: { flag: "context" },
    });
    const caps = await optimizer.run("return (await mcp.capabilities()).features.context;", {
      sessionId: "off-2",
    });
    expect(caps.value).toBe(false);
    expect(optimizer.features.find((f) => f.name === "context")).toMatchObject({
      value: false,
      source: "config",
    });

    expect(() => optimizer.setFeatures({ "sandbox.process": false })).toThrow(/restart/);
    expect(() => optimizer.setFeatures({ contxt: true })).toThrow(
      /unknown feature flag "contxt".*context/,
    );
    // Back to the defaults: audited too.
    optimizer.setFeatures({}, { actor: "operator" });
    expect(await (await optimizer.context({ principal: "alice" })).get("note")).toBe("call back");
    const recorded = audit.filter((r) => r.type === "feature_change");
    expect(recorded).toEqual([
      expect.objectContaining({
        actor: "operator",
        tenant: "default",
        changes: [{ flag: "context", from: true, to: false, source: "config" }],
      }),
      expect.objectContaining({
        actor: "operator",
        changes: [{ flag: "context", from: false, to: true, source: "default" }],
      }),
    ]);
  });
});

describe("feature flags at construction", () => {
  test("an unknown flag is INVALID_CONFIG naming the known ones; a switched-off sandbox mode cannot start", async () => {
    expect(() => new MCPOptimizer({ features: { sandboxes: false } })).toThrow(
      expect.objectContaining({
        code: ErrorCodes.INVALID_CONFIG,
        message: expect.stringMatching(
          /"sandboxes".*context, approvals, skills, privacy, memoisation/,
        ),
      }),
    );
    expect(() => new MCPOptimizer({ features: { context: "no" as never } })).toThrow(
      /true or false/,
    );
    expect(() => new MCPOptimizer({ context: { maxBytes: 0 } })).toThrow(/context.maxBytes/);
    const off = new MCPOptimizer({
      sandboxConfig: { mode: "process" },
      features: { "sandbox.process": { value: false, source: "environment" } },
    });
    await expect(off.run("return 1")).rejects.toMatchObject({
      code: ErrorCodes.FEATURE_DISABLED,
      details: { flag: "sandbox.process" },
    });
    await off.close();
  });
});
