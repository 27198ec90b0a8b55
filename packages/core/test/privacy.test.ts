import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  type AuditRecord,
  ErrorCodes,
  MCPOptimizer,
  MemorySessionStore,
  OptimizerError,
  type PiiDetector,
  type PiiMatch,
  vaultScope,
} from "../src/index.js";
import { filesystemServer, memoryServer } from "./helpers/servers.js";

// Personal data the records hold; none of it may reach the model.
const PEOPLE = [
  {
    name: "Alice",
    email: "alice.smith@example.com",
    phone: "+1 212 555 0123",
    card: "4111 1111 1111 1111",
    iban: "DE89 3704 0044 0532 0130 00",
  },
  {
    name: "Bob",
    email: "bob.jones@example.org",
    phone: "+44 20 7946 0958",
    card: "5500-0000-0000-0004",
    iban: "GB82WEST12345698765432",
  },
];
const RAW = PEOPLE.flatMap((p) => [p.email, p.phone, p.card, p.iban]);

function expectNone(where: string, text: string) {
  for (const value of RAW) expect(text.includes(value), `${where} holds ${value}`).toBe(false);
  // Also without separators: a card or IBAN written without its spaces.
  for (const value of RAW) {
    const bare = value.replace(/[\s-]/g, "");
    if (bare.length > 8) expect(text.includes(bare), `${where} holds ${bare}`).toBe(false);
  }
}

describe("personal data is tokenized for the model (server-memory over stdio)", () => {
  let dir: string;
  let optimizer: MCPOptimizer;
  const sessions = new MemorySessionStore();
  const audit: AuditRecord[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "mcpo-privacy-"));
    optimizer = new MCPOptimizer({
      sandboxConfig: { mode: "process" },
      mcpServers: { memory: memoryServer(join(dir, "graph.jsonl")) },
      sessions,
      audit: { write: (r) => void audit.push(r) },
      privacy: {
        tokenize: ["email", "phone", "card", "iban"],
        vaultKey: "test-vault-key-0123456789abcdef",
      },
    });
    await optimizer.start();
    // The records, written the way an application would (not through the model).
    writeFileSync(
      join(dir, "graph.jsonl"),
      PEOPLE.map((p) =>
        JSON.stringify({
          type: "entity",
          name: p.name,
          entityType: "customer",
          observations: [
            `email ${p.email}`,
            `phone ${p.phone}`,
            `card ${p.card}`,
            `iban ${p.iban}`,
          ],
        }),
      ).join("\n"),
    );
  }, 60_000);

  afterAll(async () => {
    await optimizer?.close();
    await sessions.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const readAll = `const g = await memory.read_graph({});
    return g.entities.map((e) => ({ name: e.name, observations: e.observations }));`;

  test("results, console output and error messages carry tokens, not the data", async () => {
    const result = await optimizer.run(
      `${readAll.replace("return", "const rows =")}
       console.log("first:", rows[0].observations.join("; "));
       return rows;`,
      { sessionId: "pii" },
    );
    expectNone("the result text", result.text);
    expectNone("the value", JSON.stringify(result.value));
    expectNone("the logs", JSON.stringify(result.logs));
    expect(result.text).toMatch(/\[EMAIL_1\]/);
    expect(result.text).toMatch(/\[PHONE_\d\]/);
    expect(result.text).toMatch(/\[CARD_\d\]/);
    expect(result.text).toMatch(/\[IBAN_\d\]/);

    const error = await optimizer
      .run(
        `const g = await memory.read_graph({}); throw new Error("bad row " + g.entities[1].observations[0]);`,
        {
          sessionId: "pii",
        },
      )
      .then(
        () => undefined,
        (e: Error) => e,
      );
    expect(error?.message).toMatch(/\[EMAIL_2\]/);
    expectNone("the error", String(error?.message));
    expectNone("the audit trail", JSON.stringify(audit));
  }, 30_000);

  test("tokens are stable across a session's executions; the vault is sealed at rest", async () => {
    const first = await optimizer.run(readAll, { sessionId: "stable" });
    const second = await optimizer.run(
      `${readAll.replace("return g.entities", "return g.entities.reverse()")}`,
      {
        sessionId: "stable",
      },
    );
    const tokensOf = (v: unknown) =>
      Object.fromEntries(
        (v as { name: string; observations: string[] }[]).map((e) => [e.name, e.observations]),
      );
    expect(tokensOf(second.value)).toEqual(tokensOf(first.value));
    const stored = JSON.stringify(await sessions.entries.get(vaultScope("stable"), "vault"));
    expectNone("the stored vault", stored);
    expect(stored).toContain("[EMAIL_1]");
  }, 30_000);

  test("a token a program passes to a tool reaches the server as the real value; other sessions' tokens mean nothing", async () => {
    const seen = await optimizer.run(readAll, { sessionId: "writer" });
    const alice = (seen.value as { name: string; observations: string[] }[]).find(
      (e) => e.name === "Alice",
    )!;
    const emailToken = alice.observations[0]!.replace("email ", "");
    expect(emailToken).toMatch(/^\[EMAIL_\d+\]$/);
    await optimizer.run(
      `await memory.add_observations({ observations: [{ entityName: "Alice", contents: ["reach at ${emailToken}"] }] }); return "ok";`,
      { sessionId: "writer" },
    );
    const onDisk = readFileSync(join(dir, "graph.jsonl"), "utf8");
    expect(onDisk).toContain(`reach at ${PEOPLE[0]!.email}`);
    expect(onDisk).not.toContain(`reach at ${emailToken}`);

    await optimizer.run(
      `await memory.add_observations({ observations: [{ entityName: "Bob", contents: ["copied ${emailToken}"] }] }); return "ok";`,
      { sessionId: "stranger" },
    );
    expect(readFileSync(join(dir, "graph.jsonl"), "utf8")).toContain(`copied ${emailToken}`);
    expectNone("the audit trail", JSON.stringify(audit));
  }, 30_000);
});

describe("sensitive data stays where the policy lets it go", () => {
  let dir: string;
  let optimizer: MCPOptimizer;
  const audit: AuditRecord[] = [];
  const SECRET_BAND = "Z9-PLATINUM-7731";

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "mcpo-egress-"));
    writeFileSync(
      join(dir, "hr.jsonl"),
      JSON.stringify({
        type: "entity",
        name: "Carol",
        entityType: "employee",
        observations: [`salary band ${SECRET_BAND}`],
      }),
    );
    optimizer = new MCPOptimizer({
      sandboxConfig: { mode: "process" },
      mcpServers: {
        hr: memoryServer(join(dir, "hr.jsonl")),
        crm: memoryServer(join(dir, "crm.jsonl")),
        notes: memoryServer(join(dir, "notes.jsonl")),
      },
      audit: { write: (r) => void audit.push(r) },
      privacy: { sensitive: ["hr"], flows: { "hr.*": ["hr.*", "notes.create_entities"] } },
    });
    await optimizer.start();
  }, 60_000);

  afterAll(async () => {
    await optimizer?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const readBand = `const g = await hr.read_graph({}); const band = g.entities[0].observations[0];`;
  const base64 = `const b64 = (s) => { const t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"; let o = ""; for (let i = 0; i < s.length; i += 3) { const n = (s.charCodeAt(i) << 16) | ((s.charCodeAt(i + 1) || 0) << 8) | (s.charCodeAt(i + 2) || 0); o += t[(n >> 18) & 63] + t[(n >> 12) & 63] + (i + 1 < s.length ? t[(n >> 6) & 63] : "=") + (i + 2 < s.length ? t[n & 63] : "="); } return o; };`;

  test("returned directly, inside a larger string, JSON-escaped or base64-encoded: masked", async () => {
    const result = await optimizer.run(
      `${readBand} ${base64}
       return { direct: band, inside: "note: " + band + " (confidential)", json: JSON.stringify({ band: band + '"' }), b64: b64("x:" + band) };`,
      { sessionId: "egress" },
    );
    const text = result.text + JSON.stringify(result.value);
    expect(text).not.toContain(SECRET_BAND);
    expect(text).not.toContain(
      Buffer.from(`x:salary band ${SECRET_BAND}`).toString("base64").slice(4, 20),
    );
    expect(text).toMatch(/\[SENSITIVE_\d+\]/);
  }, 30_000);

  test("sent to a tool the policy does not allow: refused with EGRESS_DENIED, not called, audited", async () => {
    const error = await optimizer
      .run(
        `${readBand} await crm.create_entities({ entities: [{ name: "Leak", entityType: "x", observations: [band] }] }); return 1;`,
        { sessionId: "egress" },
      )
      .then(
        () => undefined,
        (e: Error & { code?: string }) => e,
      );
    expect(error?.code).toBe(ErrorCodes.EGRESS_DENIED);
    expect(error?.message).toMatch(/hr\.read_graph/);
    expect(error?.message).not.toContain(SECRET_BAND);
    let crm = "";
    try {
      crm = readFileSync(join(dir, "crm.jsonl"), "utf8");
    } catch {}
    expect(crm).not.toContain(SECRET_BAND);
    const denied = audit.find(
      (r) =>
        r.type === "tool_call" && r.server === "crm" && r.errorCode === ErrorCodes.EGRESS_DENIED,
    );
    expect(denied).toBeDefined();
    expect(JSON.stringify(audit)).not.toContain(SECRET_BAND);

    // A program that catches the refusal goes on; the data went nowhere.
    const caught = await optimizer.run(
      `${readBand} try { await crm.create_entities({ entities: [{ name: "L2", entityType: "x", observations: ["band is " + band] }] }); } catch (e) { return e.code; }`,
      { sessionId: "egress" },
    );
    expect(caught.value).toBe(ErrorCodes.EGRESS_DENIED);
  }, 30_000);

  test("sent to an allowed tool: it works, the server gets the real value", async () => {
    await optimizer.run(
      `${readBand} await notes.create_entities({ entities: [{ name: "Review", entityType: "note", observations: [band] }] }); return "ok";`,
      { sessionId: "egress" },
    );
    expect(readFileSync(join(dir, "notes.jsonl"), "utf8")).toContain(SECRET_BAND);
  }, 30_000);

  test("a token the model saw, passed to a tool, is checked like the value itself", async () => {
    const seen = await optimizer.run(`${readBand} return band;`, { sessionId: "tokens" });
    const token = String(seen.value).match(/\[SENSITIVE_\d+\]/)![0];
    const error = await optimizer
      .run(
        `await crm.create_entities({ entities: [{ name: "T", entityType: "x", observations: ["${token}"] }] }); return 1;`,
        {
          sessionId: "tokens",
        },
      )
      .then(
        () => undefined,
        (e: Error & { code?: string }) => e,
      );
    expect(error?.code).toBe(ErrorCodes.EGRESS_DENIED);
  }, 30_000);
});

describe("results over the budget are kept behind a handle and described", () => {
  let dir: string;
  let optimizer: MCPOptimizer;
  const rows = Array.from({ length: 3000 }, (_, i) => ({
    id: i + 1,
    name: `Customer ${i + 1}`,
    amount: (i * 37) % 1000,
    status: i % 5 === 0 ? "closed" : "open",
  }));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "mcpo-handles-"));
    writeFileSync(join(dir, "rows.json"), JSON.stringify(rows));
    writeFileSync(
      join(dir, "log.txt"),
      Array.from({ length: 5000 }, (_, i) => `line ${i + 1}: event`).join("\n"),
    );
    optimizer = new MCPOptimizer({
      sandboxConfig: { mode: "process" },
      mcpServers: { files: filesystemServer(dir) },
      resultHandles: { ttlMs: 1500 },
    });
    await optimizer.start();
  }, 60_000);

  afterAll(async () => {
    await optimizer?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const read = (file: string) =>
    `const text = await files.read_text_file({ path: ${JSON.stringify(join("DIR", file))}.replace("DIR", ${JSON.stringify(dir)}) });`;

  test("3,000 rows: a description under the budget with shape, counts and statistics; a later program filters the handle", async () => {
    const result = await optimizer.run(
      `${read("rows.json")} return JSON.parse(typeof text === "string" ? text : text.content);`,
      {
        sessionId: "big",
      },
    );
    expect(result.truncated).toBe(true);
    expect(result.handle).toMatch(/^h_[0-9a-f]{8}$/);
    expect(result.text).toContain(`mcp.handle("${result.handle}")`);
    expect(result.text).toContain("3,000 rows");
    expect(result.text).toMatch(
      /shape: \{ id: number; name: string; amount: number; status: "(open|closed)" \| "(open|closed)" \}\[\]/,
    );
    expect(result.text).toMatch(/amount: min 0, max 999/);
    expect(result.text).toMatch(/status: open 2,400, closed 600/);
    expect(result.tokens.used).toBeLessThan(8000 + 2000);

    const open = await optimizer.run(
      `const rows = await mcp.handle(${JSON.stringify(result.handle)}); return rows.filter((r) => r.status === "open").length;`,
      { sessionId: "big" },
    );
    expect(open.value).toBe(2400);

    const elsewhere = await optimizer.run(
      `try { await mcp.handle(${JSON.stringify(result.handle)}); return "read"; } catch (e) { return e.code; }`,
      { sessionId: "other" },
    );
    expect(elsewhere.value).toBe(ErrorCodes.HANDLE_NOT_FOUND);

    await new Promise((r) => setTimeout(r, 1700));
    const expired = await optimizer.run(
      `try { await mcp.handle(${JSON.stringify(result.handle)}); return "read"; } catch (e) { return e.code; }`,
      { sessionId: "big" },
    );
    expect(expired.value).toBe(ErrorCodes.HANDLE_NOT_FOUND);
  }, 60_000);

  test("a long text: line count, first and last lines", async () => {
    const result = await optimizer.run(
      `${read("log.txt")} return typeof text === "string" ? text : text.content;`,
      {
        sessionId: "text",
      },
    );
    expect(result.handle).toBeDefined();
    expect(result.text).toContain("5,000 lines");
    expect(result.text).toContain("line 1: event");
    expect(result.text).toContain("line 5000: event");
  }, 60_000);
});

describe("a detector that fails: the output is withheld (fail closed), the execution still audited", () => {
  let dir: string;
  let optimizer: MCPOptimizer;
  const audit: AuditRecord[] = [];
  let failWith: Error | undefined;
  const email = PEOPLE[0]!.email;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "mcpo-detector-fails-"));
    writeFileSync(
      join(dir, "graph.jsonl"),
      JSON.stringify({ type: "entity", name: "Alice", entityType: "c", observations: [email] }),
    );
    const detector: PiiDetector = {
      name: "flaky",
      kinds: ["email", "person"],
      detect(text) {
        if (failWith) throw failWith;
        // Finds a kind tokenize does not name too: that one is left as it is.
        const out: PiiMatch[] = [];
        for (const [kind, value] of [
          ["person", "Alice"],
          ["email", email],
        ] as const) {
          const start = text.indexOf(value);
          if (start >= 0) out.push({ kind, start, end: start + value.length, value });
        }
        return out.sort((a, b) => a.start - b.start);
      },
    };
    optimizer = new MCPOptimizer({
      sandboxConfig: { mode: "process" },
      mcpServers: { memory: memoryServer(join(dir, "graph.jsonl")) },
      audit: { write: (r) => void audit.push(r) },
      privacy: { tokenize: ["email"], detector },
    });
    await optimizer.start();
  }, 60_000);

  afterAll(async () => {
    await optimizer?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const read = `const g = await memory.search_nodes({ query: "Alice" }); return g.entities[0];`;

  test("only the kinds tokenize names become tokens, whatever else the detector finds", async () => {
    failWith = undefined;
    const result = await optimizer.run(read);
    expect(result.text).toContain("Alice");
    expect(result.text).toContain("[EMAIL_1]");
    expect(result.text).not.toContain(email);
  }, 30_000);

  test("a typed failure keeps its code; an untyped one is INTERNAL_ERROR without its message", async () => {
    for (const [error, code] of [
      [
        new OptimizerError(ErrorCodes.UPSTREAM_UNAVAILABLE, "Presidio cannot be reached."),
        ErrorCodes.UPSTREAM_UNAVAILABLE,
      ],
      [new Error(`cannot parse ${email}`), ErrorCodes.INTERNAL_ERROR],
    ] as const) {
      failWith = error;
      audit.length = 0;
      const failure = await optimizer.run(read, { sessionId: `fails-${code}` }).then(
        () => undefined,
        (e: OptimizerError) => e,
      );
      expect(failure?.code).toBe(code);
      expect(failure?.message).toMatch(/detector "flaky" failed, so the output was withheld/);
      expect(failure?.message).not.toContain(email);
      expect(JSON.stringify(failure?.details ?? {})).not.toContain(email);
      // The call was made and is audited, its arguments withheld; so is the execution.
      const call = audit.find((r) => r.type === "tool_call");
      expect(call).toMatchObject({
        outcome: "ok",
        args: "[withheld: the personal-data detector failed]",
      });
      expect(audit.find((r) => r.type === "execution")).toMatchObject({ errorCode: code });
      expect(JSON.stringify(audit)).not.toContain(email);
    }
  }, 30_000);
});
