import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { decodeJwt, generateKeyPair, SignJWT, UnsecuredJWT } from "jose";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createGateway, type Gateway, generateApiKey, resolveGatewayConfig } from "../src/index.js";
import {
  type AuthorizationServer,
  signingKey,
  startAuthorizationServer,
} from "./helpers/authorization-server.js";
import { freePort } from "./helpers/processes.js";
import { everythingServer } from "./helpers/servers.js";

// The gateway as an OAuth 2.1 resource server, against a real authorization server
// (oidc-provider from npm) issuing JWT access tokens on loopback: what it accepts, what it
// refuses and how (401 with a challenge pointing to its RFC 9728 metadata), and API keys.

type TextResult = { content: { type: string; text: string }[]; isError?: boolean };
const text = (r: unknown) => (r as TextResult).content.map((c) => c.text).join("\n");

let as: AuthorizationServer;
let otherIssuer: AuthorizationServer;
let gateway: Gateway;
let dir: string;
let keysFile: string;
let auditFile: string;
const logs: string[] = [];
const secret = "s".repeat(48);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "mcpo-gw-oauth-"));
  keysFile = join(dir, "api-keys.json");
  auditFile = join(dir, "audit.jsonl");
  writeFileSync(keysFile, JSON.stringify({ keys: [] }));
  const key = await signingKey();
  const port = await freePort();
  const clients = [
    { clientId: "acme-app", secret, tenant: "acme" },
    { clientId: "acme-short", secret, tenant: "acme", ttlSeconds: 1 },
    { clientId: "globex-app", secret, tenant: "globex" },
    { clientId: "no-tenant", secret },
  ];
  as = await startAuthorizationServer({ key, clients });
  // Another issuer that signs with the very same key: only `iss` tells its tokens apart.
  otherIssuer = await startAuthorizationServer({ key, clients });
  const config = resolveGatewayConfig(
    {
      sandbox: { mode: "process" },
      gateway: { listen: `127.0.0.1:${port}` },
      auth: {
        oauth: { issuer: as.issuer, clockToleranceSeconds: 1 },
        apiKeys: { file: keysFile },
      },
      tenants: { acme: { mcpServers: { everything: everythingServer() } } },
      telemetry: { auditFile, prometheusPort: 0 },
    },
    join(dir, "gateway.json"),
  );
  gateway = await createGateway({ config, log: (line) => logs.push(line) });
}, 60_000);

afterAll(async () => {
  await gateway?.shutdown(5000, 0);
  await Promise.all([as?.close(), otherIssuer?.close()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The gateway's answer to one MCP request with this Authorization header (or none). */
async function call(authorization?: string) {
  const response = await fetch(gateway.url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...(authorization ? { authorization } : {}),
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: {
        protocolVersion: "2025-06-18",
        capabilities: {},
        clientInfo: { name: "raw", version: "1" },
      },
    }),
  });
  return {
    status: response.status,
    challenge: response.headers.get("www-authenticate"),
    body: await response.text(),
  };
}

/** The public URL as the token's audience: what the gateway is bound to. */
const resource = () => gateway.publicUrl;

describe("the gateway as an OAuth resource server", () => {
  test("no token: 401 with a challenge naming the Protected Resource Metadata, which names the issuer", async () => {
    const answer = await call();
    expect(answer.status).toBe(401);
    const metadataUrl = /resource_metadata="([^"]+)"/.exec(answer.challenge ?? "")?.[1];
    expect(metadataUrl).toBe(new URL("/.well-known/oauth-protected-resource/mcp", resource()).href);
    const metadata = (await (await fetch(metadataUrl!)).json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({
      resource: resource(),
      authorization_servers: [as.issuer],
      bearer_methods_supported: ["header"],
    });
  });

  test("a token from the issuer for this resource and a served tenant: an MCP client runs a program", async () => {
    const token = await as.token("acme-app", resource());
    expect(decodeJwt(token)).toMatchObject({ aud: resource(), iss: as.issuer, tenant: "acme" });
    const client = new Client({ name: "oauth-test", version: "1" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(gateway.url), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    try {
      const result = await client.callTool({
        name: "execute_code",
        arguments: {
          code: "const r = await everything.echo({ message: 'hi' }); return r",
          session: "s1",
        },
      });
      expect((result as TextResult).isError).toBeFalsy();
      expect(text(result)).toContain("hi");
    } finally {
      await client.close();
    }
  }, 60_000);

  test("refused with 401 invalid_token: expired, wrong audience, wrong issuer, bad signature, unknown key id, alg none, another tenant, no tenant", async () => {
    const good = await as.token("acme-app", resource());
    const claims = decodeJwt(good);
    const short = await as.token("acme-short", resource());
    const wrongAudience = await as.token("acme-app", "http://127.0.0.1:1/elsewhere");
    const wrongIssuer = await otherIssuer.token("acme-app", resource());
    const [head, payload, signature] = good.split(".");
    const flipped = `${signature!.slice(0, -4)}${signature!.slice(-4) === "AAAA" ? "BBBB" : "AAAA"}`;
    const badSignature = `${head}.${payload}.${flipped}`;
    const tamperedPayload = `${head}.${Buffer.from(JSON.stringify({ ...claims, tenant: "acme", sub: "root" })).toString("base64url")}.${signature}`;
    const rogue = await generateKeyPair("RS256");
    const unknownKid = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: "RS256", kid: "not-published", typ: "at+jwt" })
      .sign(rogue.privateKey);
    const algNone = new UnsecuredJWT({ ...claims }).encode();
    const otherTenant = await as.token("globex-app", resource());
    const noTenant = await as.token("no-tenant", resource());
    // Past its one-second lifetime and the one-second clock skew allowed.
    await new Promise((r) => setTimeout(r, 2500));

    const cases: [string, string, RegExp][] = [
      ["expired", short, /expired/],
      ["wrong audience", wrongAudience, /"aud" claim/],
      ["wrong issuer", wrongIssuer, /"iss" claim/],
      ["bad signature", badSignature, /signature does not verify/],
      ["tampered payload", tamperedPayload, /signature does not verify/],
      ["unknown key id", unknownKid, /key the issuer does not publish/],
      ["alg none", algNone, /not a valid signed JWT|algorithm/],
      ["another tenant", otherTenant, /tenant is not served here/],
      ["no tenant", noTenant, /no "tenant" claim/],
      ["garbage", "not-a-token", /not a valid signed JWT/],
    ];
    for (const [name, token, reason] of cases) {
      const answer = await call(`Bearer ${token}`);
      expect(answer.status, name).toBe(401);
      expect(answer.challenge, name).toMatch(/^Bearer .*error="invalid_token"/);
      expect(answer.challenge, name).toContain('resource_metadata="');
      expect(
        (JSON.parse(answer.body) as { error_description: string }).error_description,
        name,
      ).toMatch(reason);
      expect(answer.body, name).not.toContain(token);
    }
    // The good token still works after all that.
    expect((await call(`Bearer ${good}`)).status).toBe(200);
  }, 60_000);

  test("API keys: stored hashed, accepted, rotated by editing the file without a restart", async () => {
    const first = generateApiKey("ci-bot", "acme", "ci");
    const second = generateApiKey("ci-bot", "acme", "ci");
    expect(JSON.stringify(first.entry)).not.toContain(first.key);
    expect((await call(`Bearer ${first.key}`)).status).toBe(401);
    writeFileSync(keysFile, JSON.stringify({ keys: [first.entry] }));
    // The file is looked at again at most every second.
    await new Promise((r) => setTimeout(r, 1100));
    expect((await call(`Bearer ${first.key}`)).status).toBe(200);
    // Rotation: both keys for a while, then only the new one.
    writeFileSync(keysFile, JSON.stringify({ keys: [first.entry, second.entry] }));
    await new Promise((r) => setTimeout(r, 1100));
    expect((await call(`Bearer ${second.key}`)).status).toBe(200);
    expect((await call(`Bearer ${first.key}`)).status).toBe(200);
    writeFileSync(keysFile, JSON.stringify({ keys: [second.entry] }));
    await new Promise((r) => setTimeout(r, 1100));
    const revoked = await call(`Bearer ${first.key}`);
    expect(revoked.status).toBe(401);
    expect(revoked.body).toContain("Unknown or revoked API key");
    expect((await call(`Bearer ${second.key}`)).status).toBe(200);
    // A guessed key with a real id is refused like any other.
    expect((await call(`Bearer mcpo_ci-bot_${"A".repeat(43)}`)).status).toBe(401);
    // A broken file keeps the keys that worked.
    writeFileSync(keysFile, "{ not json");
    await new Promise((r) => setTimeout(r, 1100));
    expect((await call(`Bearer ${second.key}`)).status).toBe(200);
    expect(logs.join("\n")).toContain("keeping the previous keys");
    writeFileSync(keysFile, JSON.stringify({ keys: [second.entry] }));

    // No credential in the audit trail, the logs, or what a program can see.
    const client = new Client({ name: "key-test", version: "1" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(gateway.url), {
        requestInit: { headers: { authorization: `Bearer ${second.key}` } },
      }),
    );
    try {
      const seen = await client.callTool({
        name: "execute_code",
        arguments: {
          code: "const env = await everything['get-env']({}); return { env, keys: Object.keys(globalThis) }",
        },
      });
      expect(text(seen)).not.toContain(second.key);
    } finally {
      await client.close();
    }
    await new Promise((r) => setTimeout(r, 200));
    const audit = readFileSync(auditFile, "utf8");
    expect(audit).toContain('"tenant":"acme"');
    expect(audit).toContain('"actor":"ci"');
    for (const credential of [first.key, second.key, secret]) {
      expect(audit).not.toContain(credential);
      expect(logs.join("\n")).not.toContain(credential);
    }

    // The gateway's metrics carry the tenant.
    const metricsUrl = /metrics at (\S+)/.exec(logs.join("\n"))?.[1];
    expect(metricsUrl).toBeDefined();
    const scrape = await (await fetch(metricsUrl!)).text();
    expect(scrape).toMatch(/mcp_optimizer_gateway_executions\w*\{[^}]*mcp_optimizer_tenant="acme"/);
    expect(scrape).toMatch(/mcp_optimizer_gateway_requests\w*\{[^}]*mcp_optimizer_tenant="acme"/);
    expect(scrape).not.toContain(second.key);
  }, 60_000);
});
