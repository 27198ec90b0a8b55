import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cli, exited, freePort, startCli, tempDir, writeServersConfig } from "./helpers.js";

let redis: ChildProcess | undefined;
let dir: string;
let config: string;

beforeAll(async () => {
  if (spawnSync("redis-server", ["--version"]).error) {
    throw new Error(
      "redis-server is not installed: apt-get install redis-server (see .ci/setup/20-redis.sh)",
    );
  }
  const port = await freePort();
  redis = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: "ignore" },
  );
  for (let i = 0; ; i++) {
    const ping = spawnSync("redis-cli", ["-p", String(port), "ping"], { encoding: "utf8" });
    if (ping.stdout?.trim() === "PONG") break;
    if (i > 50) throw new Error(`redis-server on port ${port} did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
  process.env.MCPO_TEST_REDIS_PORT = String(port);
  dir = tempDir("mcpo-context-");
  config = writeServersConfig(dir, {
    sessions: {
      redisUrl: "redis://127.0.0.1:${MCPO_TEST_REDIS_PORT}",
      keyPrefix: "ctxtest:",
      tenant: "acme",
      principal: "alice",
    },
    context: { maxBytes: 2000 },
  });
});

afterAll(() => {
  redis?.kill("SIGTERM");
});

const env = (extra: Record<string, string> = {}) => ({
  MCPO_TEST_REDIS_PORT: process.env.MCPO_TEST_REDIS_PORT,
  ...extra,
});

describe("mcp-optimizer context, in Redis", () => {
  test("set, get, list and delete a principal's keys; programs of that principal read them, others do not", async () => {
    const set = await cli(["context", "set", "prefs", '{"theme":"dark"}', "--config", config], {
      env: env(),
    });
    expect(set.code, set.stderr).toBe(0);
    expect(set.stderr).toContain('Set prefs for principal "alice" (tenant "acme"): version 1');
    const viaStdin = await cli(
      ["context", "set", "note", "-", "--ttl", "60000", "--config", config],
      {
        env: env(),
        input: '"call back on Monday"',
      },
    );
    expect(viaStdin.code, viaStdin.stderr).toBe(0);

    const got = await cli(["context", "get", "prefs", "--config", config], { env: env() });
    expect(got.stdout.trim()).toBe('{"theme":"dark"}');
    const listed = await cli(["context", "list", "--json", "--config", config], { env: env() });
    const body = JSON.parse(listed.stdout) as {
      principal: string;
      store: string;
      entries: { key: string; version: number; expiresAt?: string }[];
    };
    expect(body.principal).toBe("alice");
    expect(body.store).toBe("redis");
    expect(body.entries.map((e) => e.key)).toEqual(["note", "prefs"]);
    expect(Date.parse(body.entries[0]!.expiresAt!)).toBeLessThan(Date.now() + 61_000);
    const table = await cli(["context", "list", "pr", "--config", config], { env: env() });
    expect(table.stdout).toMatch(/^prefs\s+1\s+/m);
    expect(table.stdout).not.toContain("note");

    // A program of the same principal reads it and writes for the next one.
    const run = await cli(["run", "-", "--session", "c-1", "--config", config], {
      env: env(),
      input: `const p = await context.get("prefs"); await context.set("seen", p.theme); return p.theme;`,
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim().replace(/"/g, "")).toBe("dark");
    expect(
      (await cli(["context", "get", "seen", "--config", config], { env: env() })).stdout.trim(),
    ).toBe('"dark"');
    const bob = await cli(["run", "-", "--principal", "bob", "--config", config], {
      env: env(),
      input: `return (await context.list()).length;`,
    });
    expect(bob.stdout.trim()).toBe("0");
    const bobList = await cli(["context", "list", "--principal", "bob", "--config", config], {
      env: env(),
    });
    expect(bobList.stderr).toContain('No context keys for principal "bob"');

    const del = await cli(["context", "delete", "seen", "--config", config], { env: env() });
    expect(del.code).toBe(0);
    const gone = await cli(["context", "get", "seen", "--config", config], { env: env() });
    expect(gone.code).toBe(5);
    expect(gone.stderr).toContain('No context key "seen" for principal "alice"');
  });

  test("bad input is a usage error, a cap names itself, and the context flag switches the command off", async () => {
    const badJson = await cli(["context", "set", "k", "not json", "--config", config], {
      env: env(),
    });
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toContain("VALUE is JSON");
    const noKey = await cli(["context", "get", "--config", config], { env: env() });
    expect(noKey.code).toBe(2);
    const action = await cli(["context", "purge", "--config", config], { env: env() });
    expect(action.code).toBe(2);
    const big = await cli(
      ["context", "set", "big", JSON.stringify("x".repeat(3000)), "--config", config],
      {
        env: env(),
      },
    );
    expect(big.code).toBe(1);
    expect(big.stderr).toContain("context.maxBytes");
    expect(big.stderr).toContain("[CONTEXT_TOO_LARGE]");
    const off = await cli(["context", "list", "--config", config], {
      env: env({ MCPO_FEATURE_CONTEXT: "off" }),
    });
    expect(off.code).toBe(4);
    expect(off.stderr).toContain('feature flag "context"');
    const program = await cli(["run", "-", "--config", config], {
      env: env({ MCPO_FEATURE_CONTEXT: "off" }),
      input: `try { await context.get("prefs"); return "read"; } catch (e) { return e.code; }`,
    });
    expect(program.stdout.trim().replace(/"/g, "")).toBe("FEATURE_DISABLED");
  });
});

describe("feature flags", () => {
  test("capabilities shows each flag, its value and where it came from; unknown flags are refused naming the known ones", async () => {
    const flagged = join(dir, "flags.json");
    writeFileSync(
      flagged,
      JSON.stringify({
        sandbox: { mode: "process" },
        features: { memoisation: false, "sandbox.docker": false },
      }),
    );
    const caps = await cli(["capabilities", "--json", "--config", flagged], {
      env: { MCPO_FEATURE_PRIVACY: "off", MCPO_FEATURE_MEMOISATION: "on" },
    });
    expect(caps.code, caps.stderr).toBe(0);
    const report = JSON.parse(caps.stdout) as {
      features: { name: string; value: boolean; source: string; default: boolean }[];
      sandboxes: { mode: string; available: boolean; reason?: string }[];
    };
    const flag = (name: string) => report.features.find((f) => f.name === name);
    expect(flag("context")).toMatchObject({ value: true, source: "default", default: true });
    expect(flag("memoisation")).toMatchObject({ value: true, source: "environment" });
    expect(flag("privacy")).toMatchObject({ value: false, source: "environment" });
    expect(flag("sandbox.docker")).toMatchObject({ value: false, source: "config" });
    expect(report.sandboxes.find((s) => s.mode === "docker")).toMatchObject({
      available: false,
      reason: expect.stringContaining('feature flag "sandbox.docker" (config)'),
    });
    const table = await cli(["capabilities", "--config", flagged], { env: {} });
    expect(table.stdout).toMatch(/^memoisation\s+off\s+config\s+on\s+yes$/m);
    expect(table.stdout).toMatch(/^sandbox\.docker\s+off\s+config\s+on\s+restart$/m);

    const unknown = join(dir, "unknown-flag.json");
    writeFileSync(unknown, JSON.stringify({ features: { contxt: true } }));
    const refused = await cli(["capabilities", "--config", unknown], { env: {} });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(
      /features\.contxt.*unknown feature flag.*context, approvals, skills, privacy/,
    );
    const badEnv = await cli(["capabilities", "--config", flagged], {
      env: { MCPO_FEATURE_CONTXT: "on" },
    });
    expect(badEnv.code).toBe(3);
    expect(badEnv.stderr).toContain("MCPO_FEATURE_CONTXT names no feature flag");
    const offMode = join(dir, "process-off.json");
    writeFileSync(
      offMode,
      JSON.stringify({ sandbox: { mode: "process" }, features: { "sandbox.process": false } }),
    );
    const noSandbox = await cli(["run", "-", "--config", offMode], { env: {}, input: "return 1" });
    expect(noSandbox.code).toBe(4);
    expect(noSandbox.stderr).toContain('feature flag "sandbox.process"');
  });

  test("serve reloads the flags on SIGHUP: the change takes effect, is audited, and what takes a restart is refused", async () => {
    const audit = join(dir, "audit.jsonl");
    const file = join(dir, "serve.json");
    const write = (features: Record<string, boolean>, extra: Record<string, unknown> = {}) =>
      writeFileSync(
        file,
        JSON.stringify({
          sandbox: { mode: "process" },
          telemetry: { auditFile: audit },
          features,
          ...extra,
        }),
      );
    write({ context: true });
    const served = await startCli(["serve", "--http", "127.0.0.1:0", "--config", file], {
      env: {},
    });
    const client = new Client({ name: "cli-test", version: "1.0.0" });
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(served.firstLine)));
      const probe = async () => {
        const r = await client.callTool({
          name: "execute_code",
          arguments: {
            code: `try { await context.set("k", 1); return "on"; } catch (e) { return e.code; }`,
          },
        });
        return (r.content as { text: string }[])[0]!.text.split("\n")[0]!.replace(/"/g, "");
      };
      expect(await probe()).toBe("on");
      const waitFor = async (pattern: RegExp) => {
        for (let i = 0; i < 200 && !pattern.test(served.stderr()); i++)
          await new Promise((r) => setTimeout(r, 50));
        expect(served.stderr()).toMatch(pattern);
      };

      write({ context: false });
      served.child.kill("SIGHUP");
      await waitFor(/SIGHUP: context on -> off \(config\)/);
      expect(await probe()).toBe("FEATURE_DISABLED");

      write({ context: false, "sandbox.process": false });
      served.child.kill("SIGHUP");
      await waitFor(/the config was not reloaded.*"sandbox\.process" takes a restart/);
      expect(await probe()).toBe("FEATURE_DISABLED");

      write({}, { context: { maxEntries: 5 } });
      served.child.kill("SIGHUP");
      await waitFor(/context off -> on \(default\)/);
      await waitFor(/the config's context changed too: only feature flags reload/);
      expect(await probe()).toBe("on");
    } finally {
      await client.close().catch(() => {});
      served.child.kill("SIGTERM");
      await exited(served.child);
    }
    const records = readFileSync(audit, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string; actor: string; changes?: unknown });
    const changes = records.filter((r) => r.type === "feature_change");
    expect(changes).toEqual([
      expect.objectContaining({
        actor: "sighup",
        changes: [{ flag: "context", from: true, to: false, source: "config" }],
      }),
      expect.objectContaining({
        actor: "sighup",
        changes: [{ flag: "context", from: false, to: true, source: "default" }],
      }),
    ]);
  });
});
