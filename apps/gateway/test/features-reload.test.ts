import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AuditRecord, MemorySessionStore } from "@mcp-optimizer/core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { generateApiKey, resolveGatewayConfig } from "../src/index.js";
import { TenantRuntimes } from "../src/tenants/tenant-runtimes.js";
import { executeCode } from "./helpers/execute-code.js";
import { type GatewayProcess, startGatewayProcess } from "./helpers/gateway-process.js";

// A replica re-reads its config file on SIGHUP: tenants' feature flags change from the next
// request, a flag that takes a restart or a file that no longer parses changes nothing, and
// other changed settings are named as needing a restart.

const keys = { acme: generateApiKey("acme", "acme"), globex: generateApiKey("globex", "globex") };
const base = {
  sandbox: { mode: "process" },
  gateway: { listen: "127.0.0.1:0" },
  auth: { apiKeys: { keys: Object.values(keys).map((k) => k.entry) } },
  tenants: { acme: {}, globex: {} },
};

let dir: string;
let file: string;
let gateway: GatewayProcess;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "mcpo-gw-reload-"));
  file = join(dir, "gateway.json");
  gateway = await startGatewayProcess({ configFile: file, config: base });
}, 120_000);

afterAll(async () => {
  await gateway?.stop("SIGTERM");
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** What mcp.capabilities() says of the features, for a tenant's key (a stateless request). */
async function features(key: string): Promise<Record<string, boolean>> {
  const { body } = await executeCode(
    gateway.url,
    key,
    "return (await mcp.capabilities()).features",
  );
  return JSON.parse(body.result!.content[0]!.text.split("\n\n[session")[0]!);
}

/** Writes the file, sends SIGHUP and waits for the replica's answer on stderr. */
async function reload(config: unknown | string): Promise<string> {
  writeFileSync(file, typeof config === "string" ? config : JSON.stringify(config));
  const before = gateway.log.length;
  process.kill(gateway.pid, "SIGHUP");
  const deadline = Date.now() + 10_000;
  for (;;) {
    const said = gateway.log.slice(before);
    if (/SIGHUP/.test(said) && said.endsWith("\n")) {
      await new Promise((r) => setTimeout(r, 100)); // a second line may follow
      return gateway.log.slice(before);
    }
    if (Date.now() > deadline) throw new Error(`no answer to SIGHUP: ${gateway.log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("the gateway on SIGHUP", () => {
  test("changes tenants' flags from the next request; refuses what takes a restart; names the rest", async () => {
    expect((await features(keys.acme.key)).context).toBe(true);

    // One tenant's flag off; the other tenant keeps its own.
    let said = await reload({
      ...base,
      tenants: { acme: { features: { context: false } }, globex: {} },
    });
    expect(said).toContain("reloaded the config on SIGHUP: acme: context on -> off (tenant)");
    expect((await features(keys.acme.key)).context).toBe(false);
    expect((await features(keys.globex.key)).context).toBe(true);

    // A restart-only flag: nothing changes, for any tenant.
    said = await reload({
      ...base,
      features: { "sandbox.process": false, skills: false },
      tenants: { acme: {}, globex: {} },
    });
    expect(said).toMatch(/not reloaded, the gateway runs on as it was: .*"sandbox\.process"/);
    expect((await features(keys.acme.key)).context).toBe(false);
    expect((await features(keys.globex.key)).skills).toBe(true);

    // A file that does not parse: nothing changes, and the replica serves on.
    said = await reload("{ not json");
    expect(said).toContain("not reloaded, the gateway runs on as it was");
    expect((await features(keys.acme.key)).context).toBe(false);

    // Flags change; another setting changed too is named, not applied.
    said = await reload({ ...base, gateway: { ...base.gateway, drainTimeoutMs: 1234 } });
    expect(said).toContain("acme: context off -> on (default)");
    expect(said).toMatch(/the config's drainTimeoutMs changed too: .*restart the gateway/);
    expect((await features(keys.acme.key)).context).toBe(true);
  }, 120_000);
});

describe("TenantRuntimes.reloadFeatures", () => {
  test("audits every change, open tenant or not; a restart-only change anywhere changes nothing", async () => {
    const config = (features: Record<string, Record<string, boolean>>) =>
      resolveGatewayConfig(
        {
          sandbox: { mode: "process" },
          auth: { apiKeys: { keys: [generateApiKey("o", "open").entry] } },
          tenants: { open: { features: features.open }, closed: { features: features.closed } },
        },
        "gateway.json",
        {},
      ).tenants;
    const records: AuditRecord[] = [];
    const runtimes = new TenantRuntimes({
      tenants: config({ open: {}, closed: {} }),
      sessions: new MemorySessionStore(),
      audit: [{ write: (r) => void records.push(r) }],
    });
    try {
      runtimes.acquire("open").release();
      expect(runtimes.openTenants()).toEqual(["open"]);
      expect(() =>
        runtimes.reloadFeatures(
          config({ open: { skills: false }, closed: { "sandbox.process": false } }),
          "test",
        ),
      ).toThrow(/Tenant "closed": Feature flag "sandbox\.process" takes a restart/);
      expect(records).toEqual([]);

      const changes = runtimes.reloadFeatures(
        config({ open: { skills: false }, closed: { context: false } }),
        "test",
      );
      expect(changes).toEqual([
        {
          tenant: "open",
          changes: [expect.objectContaining({ flag: "skills", from: true, to: false })],
        },
        {
          tenant: "closed",
          changes: [expect.objectContaining({ flag: "context", from: true, to: false })],
        },
      ]);
      const audited = records.filter((r) => r.type === "feature_change");
      expect(audited.map((r) => [r.tenant, r.actor])).toEqual([
        ["open", "test"],
        ["closed", "test"],
      ]);
      // The closed tenant opens with its new flags.
      const held = runtimes.acquire("closed");
      expect(held.runtime.optimizer.features.find((f) => f.name === "context")?.value).toBe(false);
      held.release();
    } finally {
      await runtimes.closeAll();
    }
  }, 60_000);
});
