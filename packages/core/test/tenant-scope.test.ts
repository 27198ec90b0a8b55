import { Client, InMemoryTransport } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  createOptimizerMcpServer,
  ErrorCodes,
  MCPOptimizer,
  OptimizerError,
  type SessionScope,
} from "../src/index.js";
import { everythingServer } from "./helpers/servers.js";

// What a multi-tenant host (apps/gateway) needs from core: a limit on the tool calls of one
// execution, and session ids scoped by tenant and principal in the model-facing server.

type TextResult = { content: { type: string; text: string }[]; isError?: boolean };
const text = (r: unknown) => (r as TextResult).content.map((c) => c.text).join("\n");

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

describe("tool calls per execution and scoped sessions", () => {
  let optimizer: MCPOptimizer;
  beforeAll(async () => {
    optimizer = new MCPOptimizer({
      sandboxConfig: { mode: "process" },
      mcpServers: { everything: everythingServer() },
      maxToolCallsPerExecution: 2,
    });
    await optimizer.start();
  }, 60_000);
  afterAll(async () => {
    await optimizer?.close();
  });

  test("the call past maxToolCallsPerExecution fails with QUOTA_EXCEEDED, in sequence and in parallel", async () => {
    const { value } = await optimizer.run(`
      const codes = [];
      for (let i = 0; i < 3; i++) {
        try { await everything.echo({ message: "m" + i }); codes.push("ok"); } catch (e) { codes.push(e.code); }
      }
      return codes;
    `);
    expect(value).toEqual(["ok", "ok", ErrorCodes.QUOTA_EXCEEDED]);
    const parallel = await optimizer.run(`
      const all = await Promise.allSettled([1, 2, 3, 4].map((i) => everything.echo({ message: "p" + i })));
      return all.map((r) => r.status === "fulfilled" ? "ok" : r.reason.code).sort();
    `);
    expect(parallel.value).toEqual(["QUOTA_EXCEEDED", "QUOTA_EXCEEDED", "ok", "ok"]);
    expect(() => new MCPOptimizer({ maxToolCallsPerExecution: -1 })).toThrow(
      /maxToolCallsPerExecution/,
    );
  }, 60_000);

  test("a scoped server stores under the scope's ids, shows the client its own, and keeps scopes apart", async () => {
    const connect = async (scope: SessionScope) => {
      const server = createOptimizerMcpServer(optimizer, { sessionScope: scope, metrics: false });
      const [a, b] = InMemoryTransport.createLinkedPair();
      await server.connect(b);
      const client = new Client({ name: "t", version: "1" });
      await client.connect(a);
      return client;
    };
    const alice = await connect(scopeFor("acme", "alice"));
    const bob = await connect(scopeFor("acme", "bob"));
    const eve = await connect(scopeFor("other", "alice"));
    const run = (client: Client, code: string, session?: string) =>
      client.callTool({
        name: "execute_code",
        arguments: { code, ...(session ? { session } : {}) },
      });
    try {
      expect(text(await run(alice, "state.n = 1; return 'set'", "conv"))).toBe("set");
      expect(await optimizer.sessions.get("acme.alice.conv")).toMatchObject({ tenant: "acme" });
      expect(await optimizer.sessions.get("conv")).toBeUndefined();
      // The same name under another principal or tenant is another (new, empty) session.
      expect(text(await run(bob, "return state.n ?? 'none'", "conv"))).toBe("none");
      expect(text(await run(eve, "return state.n ?? 'none'", "conv"))).toBe("none");
      expect(text(await run(alice, "return state.n", "conv"))).toBe("1");
      // A new session's id is shown as the client knows it, and works when passed back.
      const fresh = await run(alice, "state.k = 'v'; return 0");
      const shown = text(fresh).match(/\[session ([^:]+):/)?.[1];
      expect(shown).toMatch(/^[0-9a-f-]{36}$/);
      const meta = (fresh as { _meta: Record<string, { sessionId: string }> })._meta[
        "mcp-optimizer/execution"
      ]!;
      expect(meta.sessionId).toBe(shown);
      expect(text(await run(alice, "return state.k", shown))).toBe("v");
    } finally {
      await Promise.all([alice.close(), bob.close(), eve.close()]);
    }
  }, 60_000);
});
