import { type IncomingHttpHeaders, request } from "node:http";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  createMemoryAuditSink,
  createOptimizerHttpServer,
  createStaticTokenVerifier,
  hasErrorCode,
  MCPOptimizer,
  type MemoryAuditSink,
  type OptimizerHttpServer,
  resolveHttpAccess,
} from "../src/index.js";

const TOKEN = "0123456789abcdef0123456789abcdef";

const initialize = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: {
    protocolVersion: "2025-11-25",
    capabilities: {},
    clientInfo: { name: "raw", version: "1.0.0" },
  },
};

/**
 * A raw POST through node:http, which (unlike fetch) sends the Host header given: what a
 * browser sends for a page whose DNS name was rebound to 127.0.0.1.
 */
function post(
  url: string,
  headers: Record<string, string>,
  body: unknown = initialize,
): Promise<{ status: number; headers: IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        ...headers,
      },
    });
    req.on("response", (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        text += chunk;
        // An SSE answer stays open; the first event is all a check needs.
        if (text.includes("\n\n")) res.destroy();
      });
      const done = () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text });
      res.on("end", done);
      res.on("close", done);
    });
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

describe("the HTTP server's access checks", () => {
  let optimizer: MCPOptimizer;
  let audit: MemoryAuditSink;
  let open: OptimizerHttpServer;
  let locked: OptimizerHttpServer;

  beforeAll(async () => {
    audit = createMemoryAuditSink();
    optimizer = new MCPOptimizer({ audit });
    open = await createOptimizerHttpServer(optimizer);
    locked = await createOptimizerHttpServer(optimizer, {
      auth: { verifier: createStaticTokenVerifier({ tokens: [TOKEN] }) },
    });
  }, 60_000);
  afterAll(async () => {
    await open?.close();
    await locked?.close();
    await optimizer?.close();
  });

  test("on loopback, a foreign Host (a rebound DNS name) is refused before anything runs", async () => {
    const port = new URL(open.url).port;
    const before = audit.records.length;
    const call = {
      jsonrpc: "2.0",
      id: 2,
      method: "tools/call",
      params: { name: "execute_code", arguments: { code: "return 1" } },
    };
    for (const host of [`evil.example.com:${port}`, `attacker.test`, `10.0.0.5:${port}`]) {
      const answer = await post(open.url, { host }, call);
      expect(answer.status, host).toBe(403);
      expect(answer.text).toContain("Invalid Host");
    }
    // The page's own origin, even with a loopback Host (the rebinding case): refused too.
    const rebound = await post(open.url, {
      host: `127.0.0.1:${port}`,
      origin: "http://evil.example.com",
    });
    expect(rebound.status).toBe(403);
    expect(rebound.text).toContain("Invalid Origin");
    expect(await post(open.url, { origin: "null" }).then((a) => a.status)).toBe(403);
    expect(audit.records.length).toBe(before);
  });

  test("on loopback, loopback names and origins are served", async () => {
    const port = new URL(open.url).port;
    const allowed: Record<string, string>[] = [
      { host: `localhost:${port}` },
      { host: `127.0.0.1:${port}`, origin: `http://localhost:${port}` },
      { host: `127.0.0.1:${port}`, origin: `http://127.0.0.1:5173` },
    ];
    for (const headers of allowed) {
      const answer = await post(open.url, headers);
      expect(answer.status, JSON.stringify(headers)).toBe(200);
      expect(answer.text).toContain('"protocolVersion"');
    }
    // A real client (no Origin header) works end to end.
    const client = new Client({ name: "test", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(open.url)));
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain("execute_code");
    } finally {
      await client.close();
    }
  });

  test("with a bearer token, a request without it or with another is refused with a challenge", async () => {
    const missing = await post(locked.url, {});
    expect(missing.status).toBe(401);
    expect(missing.headers["www-authenticate"]).toMatch(/^Bearer error="invalid_token"/);
    const wrong = await post(locked.url, { authorization: `Bearer ${TOKEN.replace("0", "1")}` });
    expect(wrong.status).toBe(401);
    const basic = await post(locked.url, { authorization: `Basic ${btoa(`u:${TOKEN}`)}` });
    expect(basic.status).toBe(401);
    // The Host check comes first: a right token does not open the door to a rebound name.
    const rebound = await post(locked.url, {
      authorization: `Bearer ${TOKEN}`,
      host: "evil.example.com",
    });
    expect(rebound.status).toBe(403);
  });

  test("with the bearer token, an SDK client of either era is served", async () => {
    for (const era of ["legacy", "modern"] as const) {
      const client = new Client(
        { name: "test", version: "1.0.0" },
        era === "modern" ? { versionNegotiation: { mode: "auto" } } : {},
      );
      await client.connect(
        new StreamableHTTPClientTransport(new URL(locked.url), {
          requestInit: { headers: { authorization: `Bearer ${TOKEN}` } },
        }),
      );
      try {
        expect(client.getProtocolEra()).toBe(era);
        const result = await client.callTool({
          name: "execute_code",
          arguments: { code: "return 'in'", session: `auth-${era}` },
        });
        expect((result as { content: { text: string }[] }).content[0]!.text).toBe("in");
      } finally {
        await client.close();
      }
    }
  }, 60_000);
});

describe("resolveHttpAccess: where a server may listen and whom it serves", () => {
  const verifier = createStaticTokenVerifier({ tokens: [TOKEN] });

  test("loopback: loopback names, loopback origins, no token needed", () => {
    const access = resolveHttpAccess("127.0.0.1", {});
    expect(access.allowedHosts).toEqual(["localhost", "127.0.0.1", "[::1]"]);
    expect(access.allowedOrigins).toEqual(["localhost", "127.0.0.1", "[::1]"]);
    expect(access.auth).toBeUndefined();
    expect(resolveHttpAccess("::1", {}).allowedHosts).toContain("[::1]");
  });

  test("beyond loopback without a token is refused unless insecureNoAuth", () => {
    for (const host of ["0.0.0.0", "::", "192.168.1.20"]) {
      let error: unknown;
      try {
        resolveHttpAccess(host, {});
      } catch (e) {
        error = e;
      }
      expect(hasErrorCode(error, "INVALID_CONFIG"), host).toBe(true);
      expect((error as Error).message).toContain("--auth-token-env");
    }
    const insecure = resolveHttpAccess("192.168.1.20", { insecureNoAuth: true });
    expect(insecure.allowedHosts).toEqual(["192.168.1.20"]);
    expect(insecure.allowedOrigins).toEqual([]);
  });

  test("every interface needs the names clients use", () => {
    expect(() => resolveHttpAccess("0.0.0.0", { auth: { verifier } })).toThrow(/allowedHosts/);
    const access = resolveHttpAccess("0.0.0.0", {
      auth: { verifier },
      allowedHosts: ["mcp.internal", "::1"],
      allowedOrigins: ["app.internal"],
    });
    expect(access.allowedHosts).toEqual(["mcp.internal", "[::1]"]);
    expect(access.allowedOrigins).toEqual(["app.internal"]);
  });

  test("a static token is long enough and compared whole", async () => {
    expect(() => createStaticTokenVerifier({ tokens: ["short"] })).toThrow(/16 characters/);
    expect(() => createStaticTokenVerifier({ tokens: [] })).toThrow(/needs a token/);
    const info = await verifier.verifyAccessToken(TOKEN);
    expect(info.clientId).toBe("static-token");
    expect(info.expiresAt).toBeGreaterThan(Date.now() / 1000);
    await expect(verifier.verifyAccessToken(`${TOKEN}x`)).rejects.toThrow(/Invalid bearer token/);
    await expect(verifier.verifyAccessToken(TOKEN.slice(1))).rejects.toThrow();
  });
});
