import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { describe, expect, test } from "vitest";
import { serveEntry } from "../src/config/client-snippet.js";
import { BIN, cli, serverBin, tempDir } from "./helpers.js";

const read = (file: string) => JSON.parse(readFileSync(file, "utf8"));

describe("init", () => {
  test("non-interactive: flags decide, the file validates, stdout names it", async () => {
    const dir = tempDir();
    const r = await cli(
      [
        "init",
        "--mode",
        "hybrid",
        "--redis-url",
        "redis://127.0.0.1:6390",
        "--key-prefix",
        "t:",
        "--max-memory",
        "256",
        "--audit-file",
        "audit.jsonl",
      ],
      { cwd: dir },
    );
    expect(r.stderr).toContain("Wrote");
    expect(r.code).toBe(0);
    const file = join(dir, "mcp-optimizer.config.json");
    expect(r.stdout.trim()).toBe(file);
    // the client snippet to paste, pointing at the new file: from a checkout, this Node and
    // the built bin by absolute path (the package is not on npm yet)
    const snippet = JSON.parse(r.stderr.slice(r.stderr.indexOf("{")));
    expect(snippet.mcpServers["mcp-optimizer"]).toEqual({
      command: process.execPath,
      args: [realpathSync(BIN), "serve", "--config", file],
    });
    expect(r.stderr).toContain("Once @mcp-optimizer/cli is published on npm");
    // Run by npx (the published package), the snippet is npx's: its cache is no place to point at.
    const npx = serveEntry(
      file,
      "/home/me/.npm/_npx/1a2b/node_modules/@mcp-optimizer/cli/dist/bin.js",
    );
    expect(npx).toMatchObject({
      command: "npx",
      args: ["-y", "@mcp-optimizer/cli", "serve", "--config", file],
    });
    expect(read(file)).toEqual({
      mcpServers: {},
      sandbox: { mode: "hybrid", maxMemoryMb: 256 },
      sessions: { redisUrl: "redis://127.0.0.1:6390", keyPrefix: "t:" },
      telemetry: { auditFile: "audit.jsonl" },
      approvals: { ask: "destructive" },
    });
  });

  test("refuses to overwrite without --force (exit 6), overwrites with it", async () => {
    const dir = tempDir();
    const file = join(dir, "mcp-optimizer.config.json");
    writeFileSync(file, '{"mcpServers":{"keep":{"command":"x"}}}');
    const refused = await cli(["init", "--mode", "process"], { cwd: dir });
    expect(refused.code).toBe(6);
    expect(refused.stderr).toContain(`${file} already exists; pass --force`);
    expect(read(file).mcpServers.keep).toBeDefined();
    const forced = await cli(["init", "--mode", "process", "--force"], { cwd: dir });
    expect(forced.code).toBe(0);
    expect(read(file).sandbox.mode).toBe("process");
  });

  test("imports Claude Desktop's config from its usual place, unchanged", async () => {
    const home = tempDir("mcpo-home-");
    const claude = join(home, ".config", "Claude");
    mkdirSync(claude, { recursive: true });
    const servers = {
      github: {
        command: "npx",
        args: ["-y", "@modelcontextprotocol/server-github"],
        env: { GITHUB_TOKEN: "${GITHUB_TOKEN}" },
      },
      docs: { url: "https://example.com/mcp", headers: { Authorization: "Bearer ${DOCS_TOKEN}" } },
    };
    writeFileSync(
      join(claude, "claude_desktop_config.json"),
      JSON.stringify({ mcpServers: servers, globalShortcut: "Ctrl+Space" }),
    );
    const dir = tempDir();
    const r = await cli(["init", "--import", "claude-desktop", "--config", "out/mcpo.json"], {
      cwd: dir,
      env: { HOME: home, XDG_CONFIG_HOME: undefined },
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("2 server(s)");
    expect(r.stderr).toContain("(claude-desktop)");
    const written = read(join(dir, "out", "mcpo.json"));
    expect(written.mcpServers).toEqual(servers);
    expect(written.sandbox).toEqual({ mode: "wasm" });
  });

  test("imports VS Code's mcp.json (servers key): its variables translated, unused fields dropped", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, ".vscode"));
    writeFileSync(
      join(dir, ".vscode", "mcp.json"),
      JSON.stringify({
        inputs: [],
        servers: {
          mem: { type: "stdio", command: "node", args: ["m.js"], envFile: ".env" },
          // VS Code's own variables become what the optimizer expands
          gh: {
            command: "node",
            args: ["${workspaceFolder}/gh.js", "${userHome}/x"],
            env: { TOKEN: "${input:gh-token}", PLAIN: "${env:GH_HOST}", KEEP: "${KEEP:-1}" },
          },
        },
      }),
    );
    const r = await cli(["init", "--import", "vscode", "--yes"], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("dropped fields the optimizer does not use: mem.envFile");
    expect(r.stderr).toContain(
      "translated gh.env.TOKEN: ${input:gh-token} -> ${GH_TOKEN} (export GH_TOKEN",
    );
    expect(read(join(dir, "mcp-optimizer.config.json")).mcpServers).toEqual({
      mem: { type: "stdio", command: "node", args: ["m.js"] },
      gh: {
        command: "node",
        args: [`${dir}/gh.js`, "${HOME}/x"],
        env: { TOKEN: "${GH_TOKEN}", PLAIN: "${GH_HOST}", KEEP: "${KEEP:-1}" },
      },
    });
    // the imported file loads once the prompted input is exported
    const caps = await cli(["capabilities", "--json"], {
      cwd: dir,
      env: { GH_TOKEN: "t", GH_HOST: "h" },
    });
    expect(caps.code, caps.stderr).toBe(0);
  });

  test("interactive: answers scripted on stdin (wrong ones re-asked)", async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, ".mcp.json"),
      JSON.stringify({
        mcpServers: {
          files: {
            command: process.execPath,
            args: [serverBin("@modelcontextprotocol/server-filesystem"), dir],
          },
        },
      }),
    );
    const r = await cli(["init", "--interactive"], {
      cwd: dir,
      input: `${["nope.json", "claude-code", "quickjs", "process", "localhost:6391", "redis://127.0.0.1:6391"].join("\n")}\n`,
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("Import servers from an MCP client config");
    expect(r.stderr).toContain('"quickjs" is not one of');
    // wrong answers are re-asked at once, not reported after the last question
    expect(r.stderr).toContain(`${join(dir, "nope.json")}: no such file.`);
    expect(r.stderr).toContain("a Redis URL starts with redis:// or rediss://.");
    const written = read(join(dir, "mcp-optimizer.config.json"));
    expect(Object.keys(written.mcpServers)).toEqual(["files"]);
    expect(written.sandbox.mode).toBe("process");
    expect(written.sessions.redisUrl).toBe("redis://127.0.0.1:6391");
  });

  test("interactive with empty answers takes the defaults, a detected client config among them", async () => {
    // a HOME without a Claude Desktop config, so nothing is detected
    const env = { HOME: tempDir("mcpo-home-"), XDG_CONFIG_HOME: undefined };
    const dir = tempDir();
    const r = await cli(["init", "--interactive"], { cwd: dir, input: "\n\n\n", env });
    expect(r.code).toBe(0);
    const written = read(join(dir, "mcp-optimizer.config.json"));
    expect(written).toEqual({
      mcpServers: {},
      sandbox: { mode: "wasm" },
      approvals: { ask: "destructive" },
    });

    // a project's client config is offered as the default import
    const project = tempDir();
    mkdirSync(join(project, ".cursor"));
    writeFileSync(
      join(project, ".cursor", "mcp.json"),
      JSON.stringify({ mcpServers: { db: { command: "node", args: ["db.js"] } } }),
    );
    const offered = await cli(["init", "--interactive"], { cwd: project, input: "\n\n\n", env });
    expect(offered.code, offered.stderr).toBe(0);
    expect(offered.stderr).toContain(`[${join(project, ".cursor", "mcp.json")}]`);
    expect(read(join(project, "mcp-optimizer.config.json")).mcpServers).toEqual({
      db: { command: "node", args: ["db.js"] },
    });
  });

  test("a .ts target is written as a module that discovery loads; a relative audit file sits next to the config", async () => {
    const dir = tempDir();
    const r = await cli(
      [
        "init",
        "--config",
        "mcp-optimizer.config.ts",
        "--mode",
        "process",
        "--audit-file",
        "audit.jsonl",
      ],
      { cwd: dir },
    );
    expect(r.code, r.stderr).toBe(0);
    const file = join(dir, "mcp-optimizer.config.ts");
    expect(readFileSync(file, "utf8")).toMatch(/^export default \{/);
    // found by discovery in its folder, and used from anywhere else by path
    const here = await cli(["capabilities", "--json"], { cwd: dir });
    expect(here.code, here.stderr).toBe(0);
    expect(JSON.parse(here.stdout).config.file).toBe(file);
    const elsewhere = tempDir();
    const run = await cli(["run", "-", "--config", file], { cwd: elsewhere, input: "return 1" });
    expect(run.code, run.stderr).toBe(0);
    expect(existsSync(join(elsewhere, "audit.jsonl"))).toBe(false);
    const records = readFileSync(join(dir, "audit.jsonl"), "utf8").trim().split("\n");
    expect(records.map((l) => JSON.parse(l).type)).toContain("execution");
  });

  test("bad flags: unknown mode (exit 2), missing import file (exit 3), unknown flag (exit 2)", async () => {
    const dir = tempDir();
    const mode = await cli(["init", "--mode", "vm"], { cwd: dir });
    expect(mode.code).toBe(2);
    expect(mode.stderr).toContain(
      '--mode is one of process, wasm, docker, gvisor, hybrid; got "vm"',
    );
    const missing = await cli(["init", "--import", "nope.json"], { cwd: dir });
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain("nope.json: no such file to import");
    const flag = await cli(["init", "--colour"], { cwd: dir });
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("Unknown option '--colour'");
    expect(flag.stderr).toContain("mcp-optimizer init --help");
    expect(existsSync(join(dir, "mcp-optimizer.config.json"))).toBe(false);
  });

  test("the snippet init prints starts the server from any directory, as a client would", async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, "client.json"),
      JSON.stringify({
        mcpServers: {
          files: {
            command: process.execPath,
            args: [serverBin("@modelcontextprotocol/server-filesystem"), dir],
          },
        },
      }),
    );
    const r = await cli(["init", "--import", "client.json", "--mode", "process"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const entry = JSON.parse(r.stderr.slice(r.stderr.indexOf("{"))).mcpServers["mcp-optimizer"];
    const client = new Client({ name: "snippet-test", version: "1.0.0" });
    // A client's own directory and a PATH without this Node: the absolute paths must carry it.
    await client.connect(
      new StdioClientTransport({
        command: entry.command,
        args: entry.args,
        cwd: tempDir("mcpo-client-home-"),
        env: { PATH: "/nonexistent", HOME: tempDir("mcpo-home-") },
        stderr: "pipe",
      }),
    );
    try {
      const run = await client.callTool({
        name: "execute_code",
        arguments: { code: "return (await files.list_allowed_directories({})).content.length > 0" },
      });
      expect((run as { content: { text: string }[] }).content[0]!.text).toBe("true");
    } finally {
      await client.close();
    }
  });

  test("Ctrl-D (end of input) before the last answer aborts and writes nothing (exit 130)", async () => {
    const env = { HOME: tempDir("mcpo-home-"), XDG_CONFIG_HOME: undefined };
    for (const input of ["", "-\n", "-\nprocess\n"]) {
      const dir = tempDir();
      const r = await cli(["init", "--interactive"], { cwd: dir, input, env });
      expect(r.code, JSON.stringify(input)).toBe(130);
      expect(r.stderr).toContain("Aborted: the input ended (Ctrl-D)");
      expect(r.stderr).toContain("nothing was written");
      expect(r.stdout).toBe("");
      expect(existsSync(join(dir, "mcp-optimizer.config.json"))).toBe(false);
    }
  });
});
