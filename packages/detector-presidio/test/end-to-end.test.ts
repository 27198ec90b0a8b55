import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import {
  type AuditRecord,
  ErrorCodes,
  MCPOptimizer,
  type OptimizerError,
} from "@mcp-optimizer/core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createPresidioDetector } from "../src/index.js";
import { type PresidioServer, startPresidioServer } from "./helpers/presidio-server.js";

const require = createRequire(import.meta.url);
const memoryBin = join(
  dirname(require.resolve("@modelcontextprotocol/server-memory/package.json")),
  "dist",
  "index.js",
);

const PEOPLE = [
  { name: "Alice Smith", email: "alice.smith@example.com", phone: "+1 212 555 0123" },
  { name: "Bob Jones", email: "bob.jones@example.org", phone: "+44 20 7946 0958" },
];
const RAW = PEOPLE.flatMap((p) => [p.name, p.email, p.phone]);

describe("MCPOptimizer with privacy.detector = Presidio, a real MCP server (server-memory over stdio)", () => {
  let dir: string;
  let presidio: PresidioServer;
  let optimizer: MCPOptimizer;
  const audit: AuditRecord[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "mcpo-presidio-"));
    writeFileSync(
      join(dir, "graph.jsonl"),
      PEOPLE.map((p, i) =>
        JSON.stringify({
          type: "entity",
          name: `customer-${i + 1}`,
          entityType: "customer",
          observations: [`🙂 ${p.name} <${p.email}>, phone ${p.phone}`],
        }),
      ).join("\n"),
    );
    presidio = await startPresidioServer();
    optimizer = new MCPOptimizer({
      sandboxConfig: { mode: "process" },
      mcpServers: {
        memory: {
          command: process.execPath,
          args: [memoryBin],
          env: { MEMORY_FILE_PATH: join(dir, "graph.jsonl") },
        },
      },
      audit: { write: (r) => void audit.push(r) },
      privacy: {
        tokenize: ["email", "phone", "person"],
        detector: createPresidioDetector({ url: presidio.url }),
      },
    });
    await optimizer.start();
  }, 60_000);

  afterAll(async () => {
    await optimizer?.close();
    await presidio?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const readAll = `const g = await memory.read_graph({});
    console.log("first:", g.entities[0].observations[0]);
    return g.entities.map((e) => e.observations[0]);`;

  test("what the model reads has tokens where Presidio found names, e-mails and phones", async () => {
    const result = await optimizer.run(readAll, { sessionId: "presidio" });
    for (const value of RAW) {
      expect(result.text, value).not.toContain(value);
      expect(JSON.stringify(result.logs), value).not.toContain(value);
    }
    expect(result.value).toEqual([
      "🙂 [PERSON_1] <[EMAIL_1]>, phone [PHONE_1]",
      "🙂 [PERSON_2] <[EMAIL_2]>, phone [PHONE_2]",
    ]);
    expect(JSON.stringify(audit)).not.toContain(PEOPLE[0]!.email);
    expect(presidio.requests.some((r) => r.path === "/analyze")).toBe(true);
  }, 30_000);

  test("a token passed back to a tool reaches it as the value; Presidio down: the output is withheld, typed", async () => {
    const write = `await memory.add_observations({ observations: [{ entityName: "customer-1", contents: ["mail [EMAIL_1]"] }] });
      const g = await memory.search_nodes({ query: "mail alice" }); return g.entities[0].observations;`;
    const seen = await optimizer.run(write, { sessionId: "presidio" });
    expect(seen.value).toContain("mail [EMAIL_1]");
    expect(readFileSync(join(dir, "graph.jsonl"), "utf8")).toContain(`mail ${PEOPLE[0]!.email}`);

    presidio.failWith = 503;
    const error = await optimizer.run(readAll, { sessionId: "presidio" }).then(
      () => undefined,
      (e: OptimizerError) => e,
    );
    presidio.failWith = undefined;
    expect(error?.code).toBe(ErrorCodes.UPSTREAM_UNAVAILABLE);
    expect(error?.message).toMatch(/detector "presidio" failed, so the output was withheld/);
    expect(error?.message).toMatch(/Presidio's analyzer at http:\/\/127\.0\.0\.1:\d+ answered 503/);
    for (const value of RAW) expect(JSON.stringify(error), value).not.toContain(value);
    expect(audit.at(-1)).toMatchObject({
      type: "execution",
      errorCode: ErrorCodes.UPSTREAM_UNAVAILABLE,
    });
  }, 30_000);
});
