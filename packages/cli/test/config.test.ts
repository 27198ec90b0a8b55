import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import type { CapabilitiesReport } from "../src/index.js";
import { cli, serverBin, tempDir, writeServersConfig } from "./helpers.js";

describe("command line and config errors", () => {
  test("--help everywhere; no command is a usage error", async () => {
    const general = await cli(["--help"]);
    expect(general.code).toBe(0);
    for (const name of [
      "init",
      "serve",
      "capabilities",
      "benchmark",
      "run",
      "search",
      "sessions",
      "sandbox",
      "create-adaptor",
    ]) {
      expect(general.stdout).toContain(`  ${name} `);
      const r = await cli([name, "--help"]);
      expect(r.code, name).toBe(0);
      expect(r.stdout, name).toMatch(new RegExp(`^Usage: mcp-optimizer ${name}`));
    }
    const none = await cli([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("Usage: mcp-optimizer <command>");
    const version = await cli(["--version"]);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  test("unknown command, unknown flag, missing value, extra argument: exit 2", async () => {
    const unknown = await cli(["serv"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "serv"; did you mean "serve"?');
    const flag = await cli(["capabilities", "--jsn"]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("Unknown option '--jsn'");
    const value = await cli(["search", "x", "--limit"]);
    expect(value.code).toBe(2);
    expect(value.stderr).toContain("--limit");
    const extra = await cli(["capabilities", "now"]);
    expect(extra.code).toBe(2);
    expect(extra.stderr).toContain('unexpected argument "now"');
    const badHttp = await cli(["serve", "--http", "localhost"]);
    expect(badHttp.code).toBe(2);
    expect(badHttp.stderr).toContain('--http takes HOST:PORT; got "localhost"');
  });

  test("a config that is not JSON names the file (exit 3)", async () => {
    const dir = tempDir();
    const file = join(dir, "broken.json");
    writeFileSync(file, "{ mcpServers: ");
    const r = await cli(["search", "read", "--config", file]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${file}: not valid JSON`);
  });

  test("bad fields are named by their path, with the file", async () => {
    const dir = tempDir();
    const file = join(dir, "mcp-optimizer.config.json");
    writeFileSync(
      file,
      JSON.stringify({
        mcpServers: { files: { args: ["x"] } },
        sandbox: { mode: "vm", maxMemoryMb: 1 },
        sessions: { redisUrl: "http://nope" },
        extra: true,
      }),
    );
    const r = await cli(["capabilities"], { cwd: dir });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toContain('unknown field "extra"');
    expect(r.stderr).toContain("mcpServers.files:");
    expect(r.stderr).toContain("sandbox.mode:");
    expect(r.stderr).toContain("sandbox.maxMemoryMb:");
    expect(r.stderr).toContain("sessions.redisUrl: must start with redis:// or rediss://");
  });

  test("an MCP client's config given as --config points to init --import", async () => {
    const dir = tempDir();
    const file = join(dir, "mcp.json");
    writeFileSync(file, JSON.stringify({ servers: { a: { command: "node" } } }));
    const r = await cli(["capabilities", "--config", file]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${file}: (top level): unknown field "servers"`);
    expect(r.stderr).toContain(`import its servers with \`mcp-optimizer init --import ${file}\``);
  });

  test("an unset ${VAR} disables only its server; --strict refuses with one message naming all", async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, ".mcp-optimizer.json"),
      JSON.stringify({
        mcpServers: {
          gh: {
            command: "node",
            args: ["--owner=${MCPO_TEST_UNSET_OWNER}"],
            env: { TOKEN: "${MCPO_TEST_UNSET_TOKEN}", MODE: "${MCPO_TEST_UNSET_MODE:-ro}" },
          },
          remote: { url: "https://${MCPO_TEST_UNSET_HOST}/mcp" },
          files: {
            command: process.execPath,
            args: [serverBin("@modelcontextprotocol/server-filesystem"), dir],
          },
        },
        sandbox: { mode: "process" },
      }),
    );
    const r = await cli(["capabilities", "--json"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as CapabilitiesReport;
    const byName = Object.fromEntries(report.upstreams.map((u) => [u.name, u]));
    expect(byName.files).toMatchObject({ reachable: true });
    expect(byName.files!.tools).toBeGreaterThan(5);
    expect(byName.gh).toMatchObject({
      reachable: false,
      disabled: true,
      error: "disabled: ${MCPO_TEST_UNSET_OWNER}, ${MCPO_TEST_UNSET_TOKEN} not set",
    });
    expect(byName.remote).toMatchObject({
      disabled: true,
      error: "disabled: ${MCPO_TEST_UNSET_HOST} not set",
    });

    const strict = await cli(["capabilities", "--strict"], { cwd: dir });
    expect(strict.code).toBe(3);
    const lines = strict.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    for (const use of [
      "mcpServers.gh.args.0 uses ${MCPO_TEST_UNSET_OWNER}",
      "mcpServers.gh.env.TOKEN uses ${MCPO_TEST_UNSET_TOKEN}",
      "mcpServers.remote.url uses ${MCPO_TEST_UNSET_HOST}",
    ])
      expect(strict.stderr).toContain(use);
    expect(strict.stderr).toContain(
      "Export MCPO_TEST_UNSET_OWNER, MCPO_TEST_UNSET_TOKEN, MCPO_TEST_UNSET_HOST",
    );
    expect(strict.stderr).not.toContain("MCPO_TEST_UNSET_MODE");
  });

  test("--config to a missing file, and $MCPO_CONFIG to a missing file", async () => {
    const dir = tempDir();
    const flag = await cli(["capabilities", "--config", "nope.json"], { cwd: dir });
    expect(flag.code).toBe(3);
    expect(flag.stderr).toContain(
      `${join(dir, "nope.json")}: no such config file (named by --config)`,
    );
    const env = await cli(["capabilities"], { cwd: dir, env: { MCPO_CONFIG: "gone.json" } });
    expect(env.code).toBe(3);
    expect(env.stderr).toContain("(named by $MCPO_CONFIG)");
  });

  test("serve without any config file says how to make one (exit 3)", async () => {
    const r = await cli(["serve"], { cwd: tempDir() });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("No config file found");
    expect(r.stderr).toContain("mcp-optimizer init");
  });

  test("discovery: $MCPO_CONFIG is used when there is no --config; a .ts config works", async () => {
    const dir = tempDir();
    const json = writeServersConfig(dir);
    const fromEnv = await cli(["search", "read file", "--limit", "1", "--detail", "name"], {
      cwd: tempDir(),
      env: { MCPO_CONFIG: json },
    });
    expect(fromEnv.stderr).toBe("");
    expect(fromEnv.code).toBe(0);
    expect(fromEnv.stdout).toMatch(/^files\.read/);

    const tsDir = tempDir();
    writeFileSync(
      join(tsDir, "mcp-optimizer.config.ts"),
      `const config: { mcpServers: Record<string, unknown>; sandbox: { mode: string } } = ${JSON.stringify(
        {
          mcpServers: { memory: JSON.parse(readFileSync(json, "utf8")).mcpServers.memory },
          sandbox: { mode: "process" },
        },
      )};\nexport default config;\n`,
    );
    const fromTs = await cli(["search", "entities", "--limit", "1", "--detail", "name"], {
      cwd: tsDir,
    });
    expect(fromTs.code).toBe(0);
    expect(fromTs.stdout).toMatch(/^memory\./);
  });
});
