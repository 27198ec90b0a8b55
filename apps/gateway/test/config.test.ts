import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { generateApiKey, loadGatewayConfig, resolveGatewayConfig } from "../src/index.js";
import { GATEWAY_BIN } from "./helpers/gateway-process.js";

// The config file and environment: what they resolve to, and the typed error (INVALID_CONFIG,
// naming the path) for each way to get them wrong. The bin exits 2 on any of them.

const dir = mkdtempSync(join(tmpdir(), "mcpo-gw-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const refused = (raw: unknown, env: Record<string, string> = {}) => {
  try {
    resolveGatewayConfig(raw, "gateway.json", env);
  } catch (error) {
    expect(error).toMatchObject({ code: "INVALID_CONFIG" });
    return (error as Error).message;
  }
  throw new Error("accepted");
};

describe("the gateway's configuration", () => {
  test("embedded defaults: loopback, one tenant, wasm, no Redis; the environment overrides the file", () => {
    const config = loadGatewayConfig({ env: {} });
    expect(config).toMatchObject({
      host: "127.0.0.1",
      port: 8080,
      path: "/mcp",
      redisUrl: undefined,
    });
    expect([...config.tenants.keys()]).toEqual(["default"]);
    expect(config.tenants.get("default")!.sandbox).toMatchObject({ mode: "wasm" });
    const file = join(dir, "gateway.json");
    writeFileSync(
      file,
      JSON.stringify({
        mcpServers: { shared: { url: "http://127.0.0.1:1/mcp" } },
        sandbox: { mode: "process", maxExecutionTime: 5000 },
        quotas: { executionsPerMinute: 10 },
        sessions: { redisUrl: "${REDIS_URL}" },
        gateway: { listen: "0.0.0.0:9000", allowedHosts: ["mcp.example.com"] },
        auth: { apiKeys: { keys: [generateApiKey("k", "acme").entry] } },
        tenants: {
          acme: {
            mcpServers: {
              own: {
                url: "http://127.0.0.1:2/mcp",
                headers: { authorization: "Bearer ${ACME_TOKEN}" },
              },
            },
            sandbox: { mode: "wasm" },
            quotas: { tokensPerDay: 100 },
          },
        },
      }),
    );
    const env = {
      MCPO_GATEWAY_CONFIG: file,
      MCPO_GATEWAY_LISTEN: "127.0.0.1:9100",
      MCPO_GATEWAY_PUBLIC_URL: "https://mcp.example.com/mcp",
      REDIS_URL: "redis://:pw@127.0.0.1:6379",
      ACME_TOKEN: "acme-secret-token",
    };
    const loaded = loadGatewayConfig({ env });
    expect(loaded).toMatchObject({ host: "127.0.0.1", port: 9100, redisUrl: env.REDIS_URL });
    expect(loaded.publicUrl.href).toBe("https://mcp.example.com/mcp");
    const acme = loaded.tenants.get("acme")!;
    expect(Object.keys(acme.mcpServers).sort()).toEqual(["own", "shared"]);
    expect(acme.sandbox).toMatchObject({ mode: "wasm", maxExecutionTime: 5000 });
    expect(acme.quotas).toEqual({ executionsPerMinute: 10, tokensPerDay: 100 });
    expect(loaded.secrets).toEqual(
      expect.arrayContaining([env.REDIS_URL, "Bearer acme-secret-token"]),
    );
  });

  test("approvals reach every tenant's engine; off unless configured", () => {
    expect(resolveGatewayConfig({}, "gateway.json", {}).approvals).toBeUndefined();
    const on = resolveGatewayConfig(
      { approvals: { ask: "write", tenants: { default: { exempt: ["files.*"] } } } },
      "gateway.json",
      {},
    );
    expect(on.approvals).toEqual({ ask: "write", tenants: { default: { exempt: ["files.*"] } } });
    expect(refused({ approvals: { ask: "sometimes" } })).toContain("approvals.ask");
  });

  test("each mistake is INVALID_CONFIG naming what to fix", () => {
    expect(refused({ gateway: { lisen: "1" } })).toMatch(/gateway.*lisen/);
    expect(refused({ tenants: { acme: {} } })).toMatch(/without authentication .* "default"/);
    expect(refused({ tenants: { "Bad Name": {} } })).toMatch(/tenants/);
    expect(
      refused({
        auth: { apiKeys: { keys: [generateApiKey("k", "nope").entry] } },
        tenants: { acme: {} },
      }),
    ).toMatch(/unknown tenant "nope"/);
    expect(
      refused({
        mcpServers: { s: { url: "http://127.0.0.1:1/mcp" } },
        tenants: { default: { mcpServers: { s: { url: "http://127.0.0.1:2/mcp" } } } },
      }),
    ).toMatch(/tenants.default.mcpServers.s: a shared server/);
    expect(refused({ tenants: { default: { sandbox: { mode: "vm" } } } })).toMatch(
      /tenants.default.sandbox.mode/,
    );
    expect(
      refused({
        tenants: {
          default: {
            mcpServers: {
              s: {
                url: "http://127.0.0.1:1/mcp",
                headers: { authorization: "Bearer ${MISSING_TOKEN}" },
              },
            },
          },
        },
      }),
    ).toMatch(/MISSING_TOKEN/);
    expect(refused({ gateway: { listen: "everywhere" } })).toMatch(/HOST:PORT/);
    expect(
      refused({
        gateway: { listen: "127.0.0.1:0" },
        auth: { oauth: { issuer: "https://idp.example.com" } },
        tenants: { default: {} },
      }),
    ).toMatch(/publicUrl/);
    expect(
      refused({ auth: { oauth: { issuer: "https://idp.example.com", algorithms: ["none"] } } }),
    ).toMatch(/algorithms/);
    expect(refused({ quotas: { executionsPerMinute: 0 } })).toMatch(/executionsPerMinute/);
  });

  test("feature flags: the top level, then MCPO_FEATURE_*, then each tenant's own; unknown ones refused", () => {
    const key = generateApiKey("k", "acme").entry;
    const config = resolveGatewayConfig(
      {
        features: { memoisation: false, privacy: false },
        auth: { apiKeys: { keys: [key] } },
        tenants: { acme: { features: { context: false } }, globex: {} },
      },
      "gateway.json",
      { MCPO_FEATURE_PRIVACY: "on" },
    );
    expect(config.tenants.get("acme")!.features).toEqual({
      memoisation: { value: false, source: "config" },
      privacy: { value: true, source: "environment" },
      context: { value: false, source: "tenant" },
    });
    expect(config.tenants.get("globex")!.features).not.toHaveProperty("context");
    expect(
      refused({
        auth: { apiKeys: { keys: [key] } },
        tenants: { acme: { features: { skils: true } } },
      }),
    ).toMatch(/tenants.acme: .*unknown feature flag "skils"/);
    expect(refused({ features: { nope: true } })).toMatch(/features.nope.*unknown feature flag/);
  });

  test("the bin exits 2 with the message, before listening", () => {
    const file = join(dir, "broken.json");
    writeFileSync(file, "{ not json");
    const run = spawnSync(process.execPath, [GATEWAY_BIN, "--config", file], { encoding: "utf8" });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/broken.json: not valid JSON/);
    const beyond = join(dir, "beyond.json");
    writeFileSync(
      beyond,
      JSON.stringify({ gateway: { listen: "0.0.0.0:0", allowedHosts: ["x"] } }),
    );
    const open = spawnSync(process.execPath, [GATEWAY_BIN, "--config", beyond], {
      encoding: "utf8",
    });
    expect(open.status).toBe(2);
    expect(open.stderr).toMatch(/Refusing to serve on 0.0.0.0 without authentication/);
  });
});
