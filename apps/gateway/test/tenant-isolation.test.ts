import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  Client,
  ResourceNotFoundError,
  StreamableHTTPClientTransport,
} from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createGateway, type Gateway, generateApiKey, resolveGatewayConfig } from "../src/index.js";
import { startRedis } from "./helpers/redis-server.js";
import { everythingServer, memoryServer } from "./helpers/servers.js";

// Two tenants on one gateway and one Redis. Tenant "acme" has the everything server, tenant
// "globex" the memory server. Knowing another tenant's (or another user's) session id gives
// nothing: not found, never forbidden. Nor can a tenant call, search or read the types of
// another's servers.

type TextResult = { content: { type: string; text: string }[]; isError?: boolean };
const text = (r: unknown) => (r as TextResult).content.map((c) => c.text).join("\n");

const alice = generateApiKey("alice", "acme", "alice");
const bob = generateApiKey("bob", "acme", "bob");
const carol = generateApiKey("carol", "globex", "carol");

let redis: Awaited<ReturnType<typeof startRedis>>;
let gateway: Gateway;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "mcpo-gw-tenants-"));
  redis = await startRedis();
  const config = resolveGatewayConfig(
    {
      sandbox: { mode: "process" },
      sessions: { redisUrl: redis.url },
      gateway: { listen: "127.0.0.1:0" },
      auth: { apiKeys: { keys: [alice.entry, bob.entry, carol.entry] } },
      tenants: {
        acme: { mcpServers: { everything: everythingServer() } },
        globex: {
          mcpServers: { memory: memoryServer(join(dir, "memory.jsonl")) },
          // Each tenant its own sandbox mode: globex's programs run in the wasm sandbox.
          sandbox: { mode: "wasm" },
        },
      },
    },
    join(dir, "gateway.json"),
  );
  gateway = await createGateway({ config, log: () => {} });
}, 60_000);

afterAll(async () => {
  await gateway?.shutdown(5000, 0);
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function connect(key: string, era: "legacy" | "modern" = "legacy") {
  const client = new Client(
    { name: "isolation", version: "1" },
    era === "modern" ? { versionNegotiation: { mode: "auto" } } : {},
  );
  const transport = new StreamableHTTPClientTransport(new URL(gateway.url), {
    requestInit: { headers: { authorization: `Bearer ${key}` } },
  });
  await client.connect(transport);
  return { client, transport };
}

function api(key: string, path: string, method = "GET") {
  return fetch(new URL(path, gateway.url), {
    method,
    headers: { authorization: `Bearer ${key}` },
  });
}

const run = (client: Client, code: string, session?: string) =>
  client.callTool({
    name: "execute_code",
    arguments: { code, ...(session ? { session } : {}) },
  });

describe("tenants and principals are kept apart", () => {
  test("sessions: another tenant or user cannot read, list, continue or delete them", async () => {
    const a = await connect(alice.key);
    const b = await connect(bob.key, "modern");
    const c = await connect(carol.key, "modern");
    try {
      expect(
        text(await run(a.client, "state.secret = 'acme-only'; return 'kept'", "alice-conv")),
      ).toBe("kept");

      for (const [who, key] of [
        ["bob", bob.key],
        ["carol", carol.key],
      ] as const) {
        // Read and delete: not found (404), never forbidden.
        const read = await api(key, "/sessions/alice-conv");
        expect(read.status, who).toBe(404);
        expect(await read.json(), who).toMatchObject({ error: { code: "SESSION_NOT_FOUND" } });
        expect((await api(key, "/sessions/alice-conv", "DELETE")).status, who).toBe(404);
        // List: empty.
        expect(await (await api(key, "/sessions")).json(), who).toEqual({ sessions: [] });
      }
      // Continue: the same name is a fresh session of one's own.
      expect(text(await run(b.client, "return state.secret ?? 'nothing'", "alice-conv"))).toBe(
        "nothing",
      );
      expect(text(await run(c.client, "return state.secret ?? 'nothing'", "alice-conv"))).toBe(
        "nothing",
      );
      expect(text(await run(c.client, "state.secret = 'globex'; return 1", "alice-conv"))).toBe(
        "1",
      );

      // Alice's own is intact, and hers to read, list and delete.
      expect(text(await run(a.client, "return state.secret", "alice-conv"))).toBe("acme-only");
      const mine = await api(alice.key, "/sessions/alice-conv");
      expect(mine.status).toBe(200);
      expect(await mine.json()).toMatchObject({ id: "alice-conv", state: { secret: "acme-only" } });
      const listed = (await (await api(alice.key, "/sessions")).json()) as {
        sessions: { id: string }[];
      };
      expect(listed.sessions.map((s) => s.id)).toContain("alice-conv");
      expect((await (await api(carol.key, "/sessions")).json()) as unknown).toMatchObject({
        sessions: [{ id: "alice-conv" }],
      });

      // In the store, every id carries its tenant; nothing is stored under the name a client used.
      expect(await gateway.sessions.get("alice-conv")).toBeUndefined();
      const acme = await gateway.sessions.list("acme");
      expect(acme.sessions.length).toBeGreaterThan(0);
      for (const s of acme.sessions) expect(s.id.startsWith("acme:")).toBe(true);

      expect((await api(alice.key, "/sessions/alice-conv", "DELETE")).status).toBe(204);
      expect((await api(alice.key, "/sessions/alice-conv")).status).toBe(404);
      expect((await api(carol.key, "/sessions/alice-conv")).status).toBe(200);
    } finally {
      await Promise.all([a.client.close(), b.client.close(), c.client.close()]);
    }
  }, 90_000);

  test("MCP sessions (Mcp-Session-Id): another tenant's id is not found, and cannot be ended", async () => {
    const a = await connect(alice.key);
    try {
      expect(text(await run(a.client, "state.n = 7; return state.n"))).toBe("7");
      const id = a.transport.sessionId!;
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      const asCarol = await fetch(gateway.url, {
        method: "POST",
        headers: {
          authorization: `Bearer ${carol.key}`,
          "mcp-session-id": id,
          "mcp-protocol-version": "2025-06-18",
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
        },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 5,
          method: "tools/call",
          params: { name: "execute_code", arguments: { code: "return state.n" } },
        }),
      });
      expect(asCarol.status).toBe(404);
      expect(await asCarol.json()).toMatchObject({
        error: { code: -32001, message: "Session not found" },
      });
      const endByBob = await fetch(gateway.url, {
        method: "DELETE",
        headers: { authorization: `Bearer ${bob.key}`, "mcp-session-id": id },
      });
      expect(endByBob.status).toBe(404);
      // Still Alice's, with its state.
      expect(text(await run(a.client, "return state.n"))).toBe("7");
    } finally {
      await a.client.close();
    }
  }, 60_000);

  test("context: each principal's own, shared by its sessions and by no one else's", async () => {
    const a = await connect(alice.key);
    const a2 = await connect(alice.key, "modern");
    const b = await connect(bob.key, "modern");
    const c = await connect(carol.key, "modern");
    const first = (r: unknown) => text(r).split("\n")[0];
    try {
      expect(
        first(await run(a.client, `await context.set("account", "acct-alice"); return 1`)),
      ).toBe("1");
      // Another connection (and session) of the same principal reads it.
      expect(
        text(await run(a2.client, `return await context.get("account")`, "alice-other")),
      ).toContain("acct-alice");
      // Another principal of the tenant, and a principal of another tenant, see nothing.
      for (const other of [b, c])
        expect(first(await run(other.client, `return (await context.list()).length`))).toBe("0");
      expect(
        first(await run(c.client, `await context.set("account", "acct-carol"); return 1`)),
      ).toBe("1");
      expect(first(await run(a.client, `return await context.get("account")`))).toContain(
        "acct-alice",
      );
      // In the store, alice's keys live under her tenant and principal.
      const stored = await gateway.sessions.entries.list("ctx:acme:alice");
      expect(stored.entries.map((e) => e.key)).toEqual(["account"]);
    } finally {
      await Promise.all([a.client.close(), a2.client.close(), b.client.close(), c.client.close()]);
    }
  }, 60_000);

  test("servers: another tenant's are not callable, searchable, listed or readable", async () => {
    const c = await connect(carol.key);
    const a = await connect(alice.key, "modern");
    try {
      const { tools } = await c.client.listTools();
      const description = tools.find((t) => t.name === "execute_code")!.description!;
      expect(description).toContain("- memory (");
      expect(description).not.toContain("everything");

      const calls = await run(
        c.client,
        `const out = { global: typeof everything };
         try { await mcp.call("everything", "echo", { message: "x" }); out.call = "ran"; } catch (e) { out.call = e.code; }
         try { await mcp.describe("everything.echo"); out.describe = "seen"; } catch (e) { out.describe = e.code; }
         out.search = (await mcp.search("echo a message", { limit: 50 })).map((h) => h.name).filter((n) => n.startsWith("everything"));
         return out;`,
      );
      expect(JSON.parse(text(calls).split("\n\n[session")[0]!)).toEqual({
        global: "undefined",
        call: "SERVER_NOT_FOUND",
        describe: "SERVER_NOT_FOUND",
        search: [],
      });

      const search = await c.client.callTool({
        name: "search_tools",
        arguments: { query: "echo", detail: "name", limit: 50 },
      });
      expect(text(search)).not.toContain("everything");
      const scoped = await c.client.callTool({
        name: "search_tools",
        arguments: { query: "echo", server: "everything" },
      });
      expect(text(scoped)).not.toContain("everything.echo");

      const { resources } = await c.client.listResources();
      expect(resources.map((r) => r.uri).some((u) => u.includes("everything"))).toBe(false);
      expect(resources.map((r) => r.uri)).toContain("mcp-optimizer://types/memory.d.ts");
      for (const uri of [
        "mcp-optimizer://types/everything.d.ts",
        "mcp-optimizer://types/everything/echo.d.ts",
      ]) {
        await expect(c.client.readResource({ uri })).rejects.toBeInstanceOf(ResourceNotFoundError);
      }
      const globals = await c.client.readResource({ uri: "mcp-optimizer://types/globals.d.ts" });
      expect(JSON.stringify(globals)).not.toContain("everything");

      // And the other way round: acme sees its own server, not globex's.
      const acmeTools = await a.client.listTools();
      const acmeDescription = acmeTools.tools.find((t) => t.name === "execute_code")!.description!;
      expect(acmeDescription).toContain("- everything (");
      expect(acmeDescription).not.toContain("memory");
      expect(text(await run(a.client, "return typeof memory"))).toMatch(/^undefined/);

      // And each tenant's programs run in its own sandbox mode.
      const modeOf = (r: unknown) =>
        (r as { _meta: Record<string, { mode: string }> })._meta["mcp-optimizer/execution"]!.mode;
      expect(modeOf(await run(a.client, "return 1"))).toBe("process");
      expect(modeOf(await run(c.client, "return 1"))).toBe("wasm");
    } finally {
      await Promise.all([c.client.close(), a.client.close()]);
    }
  }, 90_000);
});
