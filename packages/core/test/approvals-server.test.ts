// Approvals through the model-facing MCP server, with real MCP clients (the SDK's Client):
// one that declares elicitation (approve, decline; 2025-era and 2026-07-28 connections) and
// one that does not (APPROVAL_REQUIRED, a person approves over the approvals endpoint, the
// model resends with the plan id). The filesystem server's folder says what was written.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  Client,
  InMemoryTransport,
  StreamableHTTPClientTransport,
} from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  createOptimizerHttpServer,
  createOptimizerMcpServer,
  createStaticTokenVerifier,
  ErrorCodes,
  MCPOptimizer,
  MemorySessionStore,
  OptimizerError,
  type OptimizerHttpServer,
  type SessionScope,
} from "../src/index.js";
import { filesystemServer } from "./helpers/servers.js";

type ToolResult = {
  content: { type: string; text: string }[];
  isError?: boolean;
  _meta?: Record<string, Record<string, unknown>>;
};
const text = (r: unknown) => (r as ToolResult).content.map((c) => c.text).join("\n");

const APPROVER_TOKEN = "approver-token-0123456789abcdef";
let dir: string;
let optimizer: MCPOptimizer;
let http: OptimizerHttpServer;
const sessions = new MemorySessionStore();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "mcpo-approvals-server-"));
  optimizer = new MCPOptimizer({
    sandboxConfig: { mode: "process", maxExecutionTime: 20_000 },
    mcpServers: { files: filesystemServer(dir) },
    sessions,
    approvals: { ask: "destructive" },
  });
  await optimizer.start();
  http = await createOptimizerHttpServer(optimizer, {
    approvals: {
      auth: { verifier: createStaticTokenVerifier({ tokens: [APPROVER_TOKEN], clientId: "ops" }) },
    },
  });
}, 60_000);

afterAll(async () => {
  await http?.close();
  await optimizer?.close();
  await sessions.close();
  rmSync(dir, { recursive: true, force: true });
});

const writeCode = (name: string) =>
  `await files.write_file({ path: ${JSON.stringify(join(dir, name))}, content: "${name}" }); return "wrote ${name}";`;

/** A client that declares elicitation and answers every question with `answer`. */
async function elicitingClient(
  answer: "accept" | "decline",
  era: "legacy" | "modern",
): Promise<{ client: Client; asked: string[] }> {
  const asked: string[] = [];
  const client = new Client(
    { name: "eliciting", version: "1.0.0" },
    {
      capabilities: { elicitation: { form: {} } },
      ...(era === "modern" ? { versionNegotiation: { mode: "auto" as const } } : {}),
    },
  );
  client.setRequestHandler("elicitation/create", async (request) => {
    asked.push((request.params as { message: string }).message);
    return answer === "accept"
      ? { action: "accept", content: { approve: true } }
      : { action: "decline" };
  });
  await client.connect(new StreamableHTTPClientTransport(new URL(http.url)));
  expect(client.getProtocolEra()).toBe(era);
  return { client, asked };
}

describe("a client that declares elicitation", () => {
  for (const era of ["legacy", "modern"] as const) {
    test(`${era} connection: the user approves, the program runs`, async () => {
      const { client, asked } = await elicitingClient("accept", era);
      try {
        const name = `approved-${era}.txt`;
        const result = await client.callTool({
          name: "execute_code",
          arguments: { code: writeCode(name), session: `elicit-${era}` },
        });
        expect((result as ToolResult).isError).toBeFalsy();
        expect(text(result)).toContain(`wrote ${name}`);
        expect(asked).toHaveLength(1);
        expect(asked[0]).toContain(`This program will call files.write_file (destructive) once.`);
        expect(asked[0]).toContain("Approve?");
        expect(readFileSync(join(dir, name), "utf8")).toBe(name);
        const approvalId = (result as ToolResult)._meta?.["mcp-optimizer/execution"]?.approvalId;
        expect(await optimizer.approvals.get(approvalId as string)).toMatchObject({
          status: "used",
          decidedBy: "elicitation",
        });
      } finally {
        await client.close();
      }
    });

    test(`${era} connection: the user declines, APPROVAL_DENIED, nothing written`, async () => {
      const { client, asked } = await elicitingClient("decline", era);
      try {
        const name = `declined-${era}.txt`;
        const result = await client.callTool({
          name: "execute_code",
          arguments: { code: writeCode(name) },
        });
        expect((result as ToolResult).isError).toBe(true);
        expect(text(result)).toMatch(/^APPROVAL_DENIED: A person declined this program/);
        expect((result as ToolResult)._meta?.["mcp-optimizer/error"]?.code).toBe("APPROVAL_DENIED");
        expect(asked).toHaveLength(1);
        expect(existsSync(join(dir, name))).toBe(false);
      } finally {
        await client.close();
      }
    });
  }

  test("a program that needs no approval is not asked about", async () => {
    const { client, asked } = await elicitingClient("decline", "legacy");
    try {
      const result = await client.callTool({
        name: "execute_code",
        arguments: {
          code: `return typeof (await files.list_directory({ path: ${JSON.stringify(dir)} }))`,
        },
      });
      expect((result as ToolResult).isError).toBeFalsy();
      expect(asked).toEqual([]);
    } finally {
      await client.close();
    }
  });
});

describe("a client without elicitation", () => {
  test("APPROVAL_REQUIRED, a person approves over the endpoint, the model resends the plan id", async () => {
    const client = new Client({ name: "plain", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(http.url)));
    try {
      const tools = (await client.listTools()).tools;
      const execute = tools.find((t) => t.name === "execute_code")!;
      expect(Object.keys(execute.inputSchema.properties ?? {})).toEqual([
        "code",
        "session",
        "plan",
      ]);

      const name = "via-endpoint.txt";
      const refused = await client.callTool({
        name: "execute_code",
        arguments: { code: writeCode(name) },
      });
      expect((refused as ToolResult).isError).toBe(true);
      expect(text(refused)).toMatch(/^APPROVAL_REQUIRED: /);
      const planId = (refused as ToolResult)._meta?.["mcp-optimizer/error"]?.approvalId as string;
      expect(planId).toMatch(/^ap_/);
      expect(text(refused)).toContain(`call execute_code with { "plan": "${planId}" }`);
      expect(existsSync(join(dir, name))).toBe(false);

      // Not yet approved: resending the plan id runs nothing.
      const early = await client.callTool({ name: "execute_code", arguments: { plan: planId } });
      expect(text(early)).toMatch(/^APPROVAL_REQUIRED: Still waiting/);

      // The endpoint wants the approver's token, not the MCP client's (there is none here).
      const anonymous = await fetch(`${http.approvalsUrl}/${planId}/approve`, { method: "POST" });
      expect(anonymous.status).toBe(401);
      const auth = { authorization: `Bearer ${APPROVER_TOKEN}` };
      const listed = await fetch(`${http.approvalsUrl}?status=pending`, { headers: auth });
      const { approvals } = (await listed.json()) as { approvals: { id: string }[] };
      expect(approvals.map((a) => a.id)).toContain(planId);
      const approved = await fetch(`${http.approvalsUrl}/${planId}/approve`, {
        method: "POST",
        headers: auth,
      });
      expect(approved.status).toBe(200);
      expect(await approved.json()).toMatchObject({ status: "approved", decidedBy: "http:ops" });

      const ran = await client.callTool({ name: "execute_code", arguments: { plan: planId } });
      expect((ran as ToolResult).isError).toBeFalsy();
      expect(text(ran)).toContain(`wrote ${name}`);
      expect(readFileSync(join(dir, name), "utf8")).toBe(name);

      // Once.
      const again = await client.callTool({ name: "execute_code", arguments: { plan: planId } });
      expect(text(again)).toMatch(/^APPROVAL_NOT_FOUND: /);
      // The endpoint: typed answers for what cannot be done.
      const twice = await fetch(`${http.approvalsUrl}/${planId}/reject`, {
        method: "POST",
        headers: auth,
      });
      expect(twice.status).toBe(409);
      const missing = await fetch(`${http.approvalsUrl}/ap_0000000000000000`, { headers: auth });
      expect(missing.status).toBe(404);
      expect(await missing.json()).toMatchObject({ error: { code: "APPROVAL_NOT_FOUND" } });
    } finally {
      await client.close();
    }
  });

  test("execute_code without code or plan is a typed error", async () => {
    const client = new Client({ name: "plain", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(http.url)));
    try {
      const result = await client.callTool({ name: "execute_code", arguments: {} });
      expect(text(result)).toMatch(/^INVALID_INPUT: execute_code needs `code`/);
    } finally {
      await client.close();
    }
  });
});

describe("scoped servers (the gateway's tenants and principals)", () => {
  function scopeFor(tenant: string, principal: string): SessionScope {
    const prefix = `${tenant}.${principal}.`;
    return {
      tenant,
      toStored: (id) => {
        if (!/^[\w-]{1,40}$/.test(id)) throw new OptimizerError(ErrorCodes.INVALID_INPUT, "bad id");
        return `${prefix}${id}`;
      },
      toClient: (stored) => stored.slice(prefix.length),
    };
  }
  const connect = async (scope: SessionScope) => {
    const server = createOptimizerMcpServer(optimizer, { sessionScope: scope, metrics: false });
    const [a, b] = InMemoryTransport.createLinkedPair();
    await server.connect(b);
    const client = new Client({ name: "t", version: "1" });
    await client.connect(a);
    return client;
  };

  test("an approval is the tenant's, and only its own principal can run it", async () => {
    const alice = await connect(scopeFor("acme", "alice"));
    const bob = await connect(scopeFor("acme", "bob"));
    try {
      const refused = await alice.callTool({
        name: "execute_code",
        arguments: { code: writeCode("scoped.txt"), session: "conv" },
      });
      const id = (refused as ToolResult)._meta?.["mcp-optimizer/error"]?.approvalId as string;
      const record = await optimizer.approvals.get(id, { tenant: "acme" });
      expect(record).toMatchObject({ tenant: "acme", sessionId: "acme.alice.conv" });
      // Another tenant does not see it.
      expect(await optimizer.approvals.get(id)).toBeUndefined();
      await optimizer.approvals.approve(id, { tenant: "acme" });
      const stolen = await bob.callTool({ name: "execute_code", arguments: { plan: id } });
      expect(text(stolen)).toMatch(/^APPROVAL_NOT_FOUND: /);
      expect(existsSync(join(dir, "scoped.txt"))).toBe(false);
      const ran = await alice.callTool({ name: "execute_code", arguments: { plan: id } });
      expect(text(ran)).toContain("wrote scoped.txt");
      // The result names the session as the client knows it.
      expect((ran as ToolResult)._meta?.["mcp-optimizer/execution"]?.sessionId).toBe("conv");
    } finally {
      await Promise.all([alice.close(), bob.close()]);
    }
  });
});
