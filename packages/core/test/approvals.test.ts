// Approvals before side effects, dry runs and skills, against real MCP servers (filesystem,
// memory) and the process sandbox. The upstreams' own state (files on disk, the memory graph)
// is what the assertions read: a refused or dry-run call must leave it as it was.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  type AuditRecord,
  ErrorCodes,
  hasErrorCode,
  MCPOptimizer,
  MemorySessionStore,
  type OptimizerError,
} from "../src/index.js";
import { filesystemServer, memoryServer } from "./helpers/servers.js";

let dir: string;
let memoryFile: string;
const sessions = new MemorySessionStore();
const audit: AuditRecord[] = [];
let optimizer: MCPOptimizer;

async function failure(p: Promise<unknown>): Promise<OptimizerError> {
  try {
    await p;
  } catch (error) {
    return error as OptimizerError;
  }
  throw new Error("expected a failure");
}

/** The memory server's graph as the server itself reads it (through a plain run: read_graph is read-only). */
async function graph(): Promise<string[]> {
  const r = await optimizer.run(
    "const g = await memory.read_graph({}); return g.entities.map((e) => e.name).sort()",
  );
  return r.value as string[];
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "mcpo-approvals-"));
  writeFileSync(join(dir, "existing.txt"), "hello");
  memoryFile = join(mkdtempSync(join(tmpdir(), "mcpo-approvals-memory-")), "memory.jsonl");
  optimizer = new MCPOptimizer({
    sandboxConfig: { mode: "process", maxExecutionTime: 20_000 },
    mcpServers: { files: filesystemServer(dir), memory: memoryServer(memoryFile) },
    sessions,
    approvals: { ask: "destructive", ttlMs: 60_000 },
    audit: { write: (r) => void audit.push(r) },
  });
  await optimizer.start();
}, 90_000);

afterAll(async () => {
  await optimizer?.close();
  await sessions.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("the effect plan", () => {
  test("names each tool with its annotations, counts, literal arguments and unknown reach", async () => {
    const plan = await optimizer.plan(`
      const listing = await files.list_directory({ path: ${JSON.stringify(dir)} });
      for (const name of ["a", "b"]) {
        await files.write_file({ path: ${JSON.stringify(dir)} + "/" + name, content: "x" });
      }
      await memory.create_entities({ entities: [{ name: "n", entityType: "t", observations: [] }] });
      await memory.create_entities({ entities: [] });
      const which = "delete_" + "entities";
      await memory[which]({ entityNames: ["n"] });
      return listing;
    `);
    const byName = Object.fromEntries(plan.tools.map((t) => [t.name, t]));
    expect(Object.keys(byName).sort()).toEqual([
      "files.list_directory",
      "files.write_file",
      "memory.create_entities",
    ]);
    expect(byName["files.list_directory"]).toMatchObject({
      calls: 1,
      repeated: false,
      arguments: [{ path: dir }],
      annotations: { readOnlyHint: true },
      needsApproval: false,
    });
    expect(byName["files.write_file"]).toMatchObject({
      calls: 1,
      repeated: true,
      arguments: [{ path: { $expr: expect.stringContaining("name") }, content: "x" }],
      annotations: { readOnlyHint: false, destructiveHint: true },
      needsApproval: true,
    });
    // server-memory annotates create_entities as not destructive: the default rule lets it run.
    expect(byName["memory.create_entities"]).toMatchObject({
      calls: 2,
      needsApproval: false,
      annotations: { destructiveHint: false },
    });
    expect(plan.unknown).toEqual([
      { server: "memory", reason: expect.stringContaining("memory[...]") },
    ]);
    expect(plan.approval).toEqual({ required: true, tools: ["files.write_file"] });
    expect(plan.programHash).toMatch(/^[0-9a-f]{64}$/);
    expect(plan.summary).toContain(
      "files.write_file (destructive) any number of times (in a loop or callback)",
    );
    expect(plan.summary).toContain("memory.create_entities (writes) up to 2 times");
    expect(plan.summary).toContain("It reads: files.list_directory.");
    expect(plan.summary).toContain("any tool of memory");
  });

  test("a program that only reads needs no approval and carries its plan in the result", async () => {
    const result = await optimizer.run(
      `const l = await files.list_directory({ path: ${JSON.stringify(dir)} }); return typeof l`,
    );
    expect(result.plan?.approval.required).toBe(false);
    expect(result.plan?.tools.map((t) => t.name)).toEqual(["files.list_directory"]);
  });
});

describe("approvals", () => {
  const target = () => join(dir, "approved.txt");
  const writeProgram = () =>
    `await files.write_file({ path: ${JSON.stringify(target())}, content: "approved" }); return "written";`;

  test("a destructive program is refused until approved, then runs once in its session", async () => {
    const refused = await failure(optimizer.run(writeProgram(), { sessionId: "approve-1" }));
    expect(refused.code).toBe(ErrorCodes.APPROVAL_REQUIRED);
    expect(refused.message).toContain("files.write_file (destructive) once");
    const id = refused.details?.approvalId as string;
    expect(id).toMatch(/^ap_/);
    expect(existsSync(target())).toBe(false);

    const pending = await optimizer.approvals.list({ status: "pending" });
    expect(pending.map((a) => a.id)).toContain(id);
    const record = await optimizer.approvals.get(id);
    expect(record).toMatchObject({ status: "pending", sessionId: "approve-1", tenant: "default" });
    expect(record!.plan.approval.tools).toEqual(["files.write_file"]);

    // Resuming before a decision: still waiting, still nothing written.
    expect((await failure(optimizer.resume(id))).code).toBe(ErrorCodes.APPROVAL_REQUIRED);
    expect(existsSync(target())).toBe(false);

    await optimizer.approvals.approve(id, { by: "test-person" });
    const result = await optimizer.resume(id);
    expect(result.value).toBe("written");
    expect(result.sessionId).toBe("approve-1");
    expect(result.approvalId).toBe(id);
    expect(readFileSync(target(), "utf8")).toBe("approved");
    expect(
      audit.some((r) => r.type === "execution" && r.approvalId === id && r.outcome === "ok"),
    ).toBe(true);

    // An approval runs once.
    expect((await failure(optimizer.resume(id))).code).toBe(ErrorCodes.APPROVAL_NOT_FOUND);
    // ... and only for its own program.
    const other = await failure(
      optimizer.run(`${writeProgram()} // changed`, { sessionId: "approve-1", approval: id }),
    );
    expect(other.code).toBe(ErrorCodes.APPROVAL_NOT_FOUND);
  });

  test("a rejected program answers APPROVAL_DENIED and does nothing", async () => {
    const path = join(dir, "rejected.txt");
    const code = `await files.write_file({ path: ${JSON.stringify(path)}, content: "no" });`;
    const refused = await failure(optimizer.run(code));
    const id = refused.details?.approvalId as string;
    await optimizer.approvals.reject(id, { by: "test-person", reason: "not today" });
    const denied = await failure(optimizer.resume(id));
    expect(denied.code).toBe(ErrorCodes.APPROVAL_DENIED);
    expect(denied.message).toContain("not today");
    expect(existsSync(path)).toBe(false);
    // A decision is final.
    expect(
      hasErrorCode(await failure(optimizer.approvals.approve(id)), ErrorCodes.INVALID_INPUT),
    ).toBe(true);
  });

  test("a computed call to a destructive tool outside the approved plan is refused, not made", async () => {
    await optimizer.run(
      `await memory.create_entities({ entities: [{ name: "keep", entityType: "t", observations: ["x"] }] });`,
    );
    expect(await graph()).toContain("keep");
    const code = `
      await files.write_file({ path: ${JSON.stringify(join(dir, "plan.txt"))}, content: "in plan" });
      const which = ["delete", "entities"].join("_");
      try { await memory[which]({ entityNames: ["keep"] }); return "deleted"; }
      catch (e) { return e.code; }
    `;
    const refused = await failure(optimizer.run(code, { sessionId: "computed" }));
    const id = refused.details?.approvalId as string;
    await optimizer.approvals.approve(id);
    const result = await optimizer.resume(id);
    expect(result.value).toBe(ErrorCodes.TOOL_NOT_APPROVED);
    expect(readFileSync(join(dir, "plan.txt"), "utf8")).toBe("in plan");
    // The upstream never saw the call: the entity is still there.
    expect(await graph()).toContain("keep");
    expect(result.toolCalls.find((c) => c.tool === "delete_entities")).toMatchObject({
      outcome: "error",
      errorCode: ErrorCodes.TOOL_NOT_APPROVED,
    });

    // A program with only computed calls needs no approval up front, and is refused at run time.
    const direct = await optimizer.run(
      `const t = "delete_" + "entities"; try { await memory[t]({ entityNames: ["keep"] }); } catch (e) { return e.code; }`,
    );
    expect(direct.value).toBe(ErrorCodes.TOOL_NOT_APPROVED);
    expect(await graph()).toContain("keep");
  });

  test("pending approvals live in the session store's entries, with their expiry", async () => {
    const refused = await failure(
      optimizer.run(
        `await files.write_file({ path: ${JSON.stringify(join(dir, "x.txt"))}, content: "" });`,
      ),
    );
    const id = refused.details?.approvalId as string;
    const entry = await sessions.entries.get("approvals:default", id);
    expect(entry?.expiresAt).toBeDefined();
    const ttl = Date.parse(entry!.expiresAt!) - Date.now();
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });
});

describe("dry run", () => {
  test("read-only tools run, every other call is recorded and answered with a placeholder", async () => {
    const before = await graph();
    const path = join(dir, "dry.txt");
    const result = await optimizer.run(
      `
      const listing = await files.list_directory({ path: ${JSON.stringify(dir)} });
      const written = await files.write_file({ path: ${JSON.stringify(path)}, content: "dry" });
      const created = await memory.create_entities({ entities: [{ name: "dry", entityType: "t", observations: [] }] });
      state.touched = true;
      return { sawExisting: JSON.stringify(listing).includes("existing.txt"), written, created };
    `,
      { dryRun: true, sessionId: "dry" },
    );
    expect(result.value).toEqual({
      sawExisting: true,
      written: { dryRun: true, tool: "files.write_file" },
      created: { dryRun: true, tool: "memory.create_entities" },
    });
    expect(result.dryRun?.calls).toEqual([
      { tool: "files.list_directory", args: { path: dir }, ran: true },
      { tool: "files.write_file", args: { path, content: "dry" }, ran: false },
      {
        tool: "memory.create_entities",
        args: { entities: [{ name: "dry", entityType: "t", observations: [] }] },
        ran: false,
      },
    ]);
    // No write anywhere: not on disk, not in the graph, not in the session's state.
    expect(existsSync(path)).toBe(false);
    expect(await graph()).toEqual(before);
    expect((await sessions.get("dry"))?.state).toEqual({});
  });

  test("a policy previewing with a dry run shows its calls with the approval request", async () => {
    const previewing = new MCPOptimizer({
      sandboxConfig: { mode: "process", maxExecutionTime: 20_000 },
      mcpServers: { files: filesystemServer(dir) },
      sessions,
      approvals: { preview: "dry-run" },
    });
    try {
      const path = join(dir, "preview.txt");
      const refused = await failure(
        previewing.run(
          `const name = "preview" + ".txt"; await files.write_file({ path: ${JSON.stringify(dir)} + "/" + name, content: "p" });`,
        ),
      );
      expect(refused.code).toBe(ErrorCodes.APPROVAL_REQUIRED);
      expect(refused.details?.preview).toEqual({
        calls: [{ tool: "files.write_file", args: { path, content: "p" }, ran: false }],
      });
      const record = await previewing.approvals.get(refused.details?.approvalId as string);
      expect(record?.preview?.calls[0]?.args).toEqual({ path, content: "p" });
      expect(existsSync(path)).toBe(false);
    } finally {
      await previewing.close();
    }
  }, 60_000);
});

describe("skills", () => {
  const noteSchema = {
    type: "object",
    properties: {
      name: { type: "string", description: "the file name" },
      text: { type: "string" },
    },
    required: ["name"],
  };

  test("save, find by search, call from code with typed input, version, execute by name, delete", async () => {
    const saved = await optimizer.skills.save({
      name: "countFiles",
      description: "Count the files in the shared folder whose names end with a suffix.",
      code: `const l = await files.list_directory({ path: ${JSON.stringify(dir)} }); return String(l.content ?? l).split("\\n").filter((x) => x.endsWith(input.suffix)).length;`,
      inputSchema: {
        type: "object",
        properties: { suffix: { type: "string" } },
        required: ["suffix"],
      },
      by: "test",
    });
    expect(saved).toMatchObject({ name: "countFiles", version: 1, savedBy: "test" });

    const hits = await optimizer.search("count files suffix");
    expect(hits[0]).toMatchObject({
      kind: "skill",
      name: "skills.countFiles",
      call: "skills.countFiles",
      signature: "skills.countFiles(input: { suffix: string; }): Promise<unknown>",
    });
    // ... and inside programs, with mcp.search.
    const inCode = await optimizer.run(
      "const h = await mcp.search('count files suffix'); return h[0]",
    );
    expect(inCode.value).toMatchObject({ kind: "skill", call: "skills.countFiles" });

    const counted = await optimizer.run(`return await skills.countFiles({ suffix: ".txt" })`);
    expect(counted.value).toBeGreaterThanOrEqual(1);
    expect(counted.plan?.skills).toEqual([{ name: "countFiles", version: 1 }]);
    expect(counted.plan?.tools[0]).toMatchObject({
      name: "files.list_directory",
      via: ["countFiles"],
    });

    const bad = await optimizer.run(
      "try { await skills.countFiles({ suffix: 3 }); } catch (e) { return [e.code, e.message]; }",
    );
    expect(bad.value).toEqual([ErrorCodes.SKILL_INVALID_INPUT, expect.stringContaining("suffix")]);

    const v2 = await optimizer.skills.save({
      name: "countFiles",
      description: "Count files by suffix (version 2: returns an object).",
      code: `const l = await files.list_directory({ path: ${JSON.stringify(dir)} }); const n = String(l.content ?? l).split("\\n").filter((x) => x.endsWith(input.suffix)).length; return { n };`,
      inputSchema: {
        type: "object",
        properties: { suffix: { type: "string" } },
        required: ["suffix"],
      },
    });
    expect(v2.version).toBe(2);
    expect((await optimizer.skills.versions("countFiles")).map((s) => s.version)).toEqual([1, 2]);
    expect((await optimizer.skills.get("countFiles", { version: 1 })).code).toContain(
      "return String",
    );

    const executed = await optimizer.execute({
      operation: "countFiles",
      params: { suffix: ".txt" },
    });
    expect(executed.value).toEqual({ n: expect.any(Number) });

    expect(await optimizer.skills.delete("countFiles")).toBe(true);
    expect((await failure(optimizer.skills.get("countFiles"))).code).toBe(
      ErrorCodes.SKILL_NOT_FOUND,
    );
    const gone = await optimizer.run(
      "try { await skills.countFiles({ suffix: '.txt' }); } catch (e) { return e.code; }",
    );
    expect(gone.value).toBe(ErrorCodes.SKILL_NOT_FOUND);
    expect(await optimizer.search("count files suffix")).not.toContainEqual(
      expect.objectContaining({ kind: "skill" }),
    );
  });

  test("a skill that calls a destructive tool carries its approval requirement", async () => {
    await optimizer.skills.save({
      name: "writeNote",
      description: "Write a note file into the shared folder.",
      code: `await files.write_file({ path: ${JSON.stringify(dir)} + "/" + input.name, content: input.text ?? "" }); return "ok";`,
      inputSchema: noteSchema,
    });
    const path = join(dir, "note.txt");
    const refused = await failure(
      optimizer.run(`return await skills.writeNote({ name: "note.txt", text: "from a skill" })`, {
        sessionId: "skill-approval",
      }),
    );
    expect(refused.code).toBe(ErrorCodes.APPROVAL_REQUIRED);
    expect(refused.message).toContain("files.write_file (destructive, through skill writeNote)");
    expect(existsSync(path)).toBe(false);
    const id = refused.details?.approvalId as string;
    await optimizer.approvals.approve(id);
    expect((await optimizer.resume(id)).value).toBe("ok");
    expect(readFileSync(path, "utf8")).toBe("from a skill");
  });

  test("bad skills are refused with typed errors", async () => {
    const bad = (o: object) =>
      failure(optimizer.skills.save({ name: "x", description: "d", code: "return 1", ...o }));
    expect((await bad({ name: "then" })).code).toBe(ErrorCodes.INVALID_INPUT);
    expect((await bad({ name: "has-dash" })).code).toBe(ErrorCodes.INVALID_INPUT);
    expect((await bad({ description: "" })).code).toBe(ErrorCodes.INVALID_INPUT);
    expect((await bad({ code: "return (" })).code).toBe(ErrorCodes.CODE_SYNTAX_ERROR);
    expect((await bad({ inputSchema: [] })).code).toBe(ErrorCodes.INVALID_INPUT);
  });
});

describe("feature flags over approvals and skills (docs/features.md)", () => {
  test("skills off: a program's skills.name() and optimizer.skills fail FEATURE_DISABLED, search lists no skill; on again, they work", async () => {
    await optimizer.skills.save({
      name: "flagged",
      description: "A skill that reports the flagged marker.",
      code: `return "flagged-ran";`,
    });
    const changes = optimizer.setFeatures({ skills: false }, { actor: "test" });
    try {
      expect(changes).toEqual([expect.objectContaining({ flag: "skills", from: true, to: false })]);
      const inCode = await failure(optimizer.run(`return await skills.flagged({})`));
      expect(inCode.code).toBe(ErrorCodes.FEATURE_DISABLED);
      expect(inCode.message).toContain('"skills"');
      expect((await failure(optimizer.skills.list())).code).toBe(ErrorCodes.FEATURE_DISABLED);
      const hits = await optimizer.search("flagged marker");
      expect(hits.some((h) => h.kind === "skill")).toBe(false);
    } finally {
      optimizer.setFeatures({ skills: true }, { actor: "test" });
    }
    expect((await optimizer.run(`return await skills.flagged({})`)).value).toBe("flagged-ran");
    await optimizer.skills.delete("flagged");
  });

  test("approvals off: a destructive program runs without asking (the upstream changes); on again, it asks", async () => {
    const path = join(dir, "unasked.txt");
    const code = `await files.write_file({ path: ${JSON.stringify(path)}, content: "x" }); return "written"`;
    optimizer.setFeatures({ approvals: false }, { actor: "test" });
    try {
      expect((await optimizer.run(code)).value).toBe("written");
      expect(readFileSync(path, "utf8")).toBe("x");
    } finally {
      optimizer.setFeatures({ approvals: true }, { actor: "test" });
    }
    rmSync(path);
    expect((await failure(optimizer.run(code))).code).toBe(ErrorCodes.APPROVAL_REQUIRED);
    expect(existsSync(path)).toBe(false);
  });
});
