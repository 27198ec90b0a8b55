// Approvals, dry runs and skills through the real CLI (the built bin, one process per command)
// against real MCP servers, with sessions in memory and in a real Redis. Files on disk and the
// memory server's graph are what the assertions read.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { BIN, cli, exited, freePort, startCli, tempDir, writeServersConfig } from "./helpers.js";

type ToolResult = {
  content: { type: string; text: string }[];
  isError?: boolean;
  _meta?: Record<string, Record<string, unknown>>;
};
const text = (r: unknown) => (r as ToolResult).content.map((c) => c.text).join("\n");

let redis: ChildProcess | undefined;
let redisPort: number;

beforeAll(async () => {
  if (spawnSync("redis-server", ["--version"]).error) {
    throw new Error(
      "redis-server is not installed: apt-get install redis-server (see .ci/setup/20-redis.sh)",
    );
  }
  redisPort = await freePort();
  redis = spawn(
    "redis-server",
    ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: "ignore" },
  );
  for (let i = 0; ; i++) {
    const ping = spawnSync("redis-cli", ["-p", String(redisPort), "ping"], { encoding: "utf8" });
    if (ping.stdout?.trim() === "PONG") break;
    if (i > 50) throw new Error(`redis-server on port ${redisPort} did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
});

afterAll(() => {
  redis?.kill("SIGTERM");
});

const writeProgram = (dir: string, name: string) =>
  `await files.write_file({ path: ${JSON.stringify(join(dir, name))}, content: "${name}" });\nreturn "wrote ${name}";`;

function redisConfig(dir: string, prefix: string): string {
  return writeServersConfig(dir, {
    sessions: { redisUrl: `redis://127.0.0.1:${redisPort}`, keyPrefix: `${prefix}:` },
    approvals: { ask: "destructive" },
  });
}

describe("run with approvals on (sessions in memory)", () => {
  let dir: string;
  let config: string;
  beforeAll(() => {
    dir = tempDir("mcpo-approvals-run-");
    config = writeServersConfig(dir, { approvals: { ask: "destructive" } });
  });

  test("--plan prints the effect plan and runs nothing", async () => {
    const program = join(dir, "plan.js");
    writeFileSync(
      program,
      `const l = await files.list_directory({ path: ${JSON.stringify(dir)} });
for (const n of ["a", "b"]) await files.write_file({ path: ${JSON.stringify(dir)} + "/" + n, content: n });
await memory.create_entities({ entities: [] });
return l;`,
    );
    const human = await cli(["run", program, "--plan", "--config", config]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain(
      "This program will call files.write_file (destructive) any number of times (in a loop or callback) and memory.create_entities (writes) once.",
    );
    expect(human.stdout).toMatch(/files\.write_file\s+destructive\s+any \(loop\)\s+asks/);
    expect(human.stdout).toMatch(/files\.list_directory\s+read-only\s+1\s+-/);
    expect(human.stdout).toContain("approval: required for files.write_file");
    const json = await cli(["run", program, "--plan", "--json", "--config", config]);
    const plan = JSON.parse(json.stdout);
    expect(plan.approval).toEqual({ required: true, tools: ["files.write_file"] });
    expect(existsSync(join(dir, "a"))).toBe(false);
  });

  test("a destructive program is refused with its plan and id; --approve runs it", async () => {
    const program = join(dir, "write.js");
    writeFileSync(program, writeProgram(dir, "approved.txt"));
    const refused = await cli(["run", program, "--config", config]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("This program will call files.write_file (destructive) once.");
    expect(refused.stderr).toMatch(/mcp-optimizer approvals approve ap_[\w-]{16}/);
    expect(refused.stderr).toContain("use --approve, or sessions.redisUrl");
    expect(existsSync(join(dir, "approved.txt"))).toBe(false);

    const approved = await cli(["run", program, "--approve", "--config", config]);
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stderr).toContain("approved (--approve): This program will call");
    expect(approved.stdout.trim()).toBe("wrote approved.txt");
    expect(readFileSync(join(dir, "approved.txt"), "utf8")).toBe("approved.txt");
  });

  test("--dry-run runs the reads, records the rest, writes nothing", async () => {
    const program = join(dir, "dry.js");
    writeFileSync(
      program,
      `const l = await files.list_directory({ path: ${JSON.stringify(dir)} });\n${writeProgram(dir, "dry.txt")}`,
    );
    const r = await cli(["run", program, "--dry-run", "--config", config]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("dry run, 1 calls not made:");
    expect(r.stderr).toMatch(/ran\s+files\.list_directory\(/);
    expect(r.stderr).toMatch(/not run {2}files\.write_file\(\{"path":/);
    expect(existsSync(join(dir, "dry.txt"))).toBe(false);
  });

  test("bad flags are usage errors", async () => {
    const both = await cli(["run", "x.js", "--plan", "--dry-run", "--config", config]);
    expect(both.code).toBe(2);
    const resumeFile = await cli(["run", "x.js", "--resume", "ap_0000000000000000"]);
    expect(resumeFile.code).toBe(2);
  });
});

describe("approvals in Redis: survive the process that asked, any instance resumes", () => {
  test("run asks and exits; approvals list/show/approve from other processes; run --resume on a third", async () => {
    const dir = tempDir("mcpo-approvals-redis-");
    const config = redisConfig(dir, "restart");
    const program = join(dir, "write.js");
    writeFileSync(program, writeProgram(dir, "resumed.txt"));
    const asked = await cli(["run", program, "--config", config]);
    expect(asked.code).toBe(1);
    const id = /approvals approve (ap_[\w-]{16})/.exec(asked.stderr)![1]!;
    expect(asked.stderr).not.toContain("use --approve, or sessions.redisUrl");

    const listed = await cli(["approvals", "list", "--config", config]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`${id}\\s+pending\\s+\\S+.*files\\.write_file`));
    const shown = await cli(["approvals", "show", id, "--config", config]);
    expect(shown.stdout).toContain("This program will call files.write_file (destructive) once.");
    expect(shown.stdout).toContain("--- program ---");

    const early = await cli(["run", "--resume", id, "--config", config]);
    expect(early.code).toBe(1);
    expect(early.stderr).toContain("Still waiting for a decision");

    const approved = await cli(["approvals", "approve", id, "--by", "ops", "--config", config]);
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stderr).toContain(`Approved ${id}`);

    const resumed = await cli(["run", "--resume", id, "--config", config]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout.trim()).toBe("wrote resumed.txt");
    expect(readFileSync(join(dir, "resumed.txt"), "utf8")).toBe("resumed.txt");

    const twice = await cli(["run", "--resume", id, "--config", config]);
    expect(twice.code).toBe(5);
    const shownAfter = await cli(["approvals", "show", id, "--json", "--config", config]);
    expect(JSON.parse(shownAfter.stdout)).toMatchObject({ status: "used", decidedBy: "ops" });
    const missing = await cli(["approvals", "approve", "ap_0000000000000000", "--config", config]);
    expect(missing.code).toBe(5);
  });

  test("an MCP client without elicitation: APPROVAL_REQUIRED, `approvals approve` in another process, resend with the plan id", async () => {
    const dir = tempDir("mcpo-approvals-stdio-");
    const config = redisConfig(dir, "stdio");
    const client = new Client({ name: "no-elicitation", version: "1.0.0" });
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [BIN, "serve", "--config", config],
      stderr: "pipe",
      env: { ...(process.env as Record<string, string>), MCPO_CONFIG: "" },
    });
    let stderr = "";
    transport.stderr?.on("data", (d) => {
      stderr += String(d);
    });
    await client.connect(transport);
    try {
      const refused = await client.callTool({
        name: "execute_code",
        arguments: { code: writeProgram(dir, "from-client.txt") },
      });
      expect((refused as ToolResult).isError).toBe(true);
      expect(text(refused)).toMatch(/^APPROVAL_REQUIRED: /);
      const id = (refused as ToolResult)._meta?.["mcp-optimizer/error"]?.approvalId as string;
      expect(existsSync(join(dir, "from-client.txt"))).toBe(false);
      expect(stderr).toContain("approvals on: programs reaching destructive tools ask");

      const approved = await cli(["approvals", "approve", id, "--config", config]);
      expect(approved.code, approved.stderr).toBe(0);

      const ran = await client.callTool({ name: "execute_code", arguments: { plan: id } });
      expect((ran as ToolResult).isError, text(ran)).toBeFalsy();
      expect(text(ran)).toContain("wrote from-client.txt");
      expect(readFileSync(join(dir, "from-client.txt"), "utf8")).toBe("from-client.txt");
    } finally {
      await client.close();
    }
  });
});

describe("the approvals endpoint of serve --http (sessions in memory)", () => {
  test("approvals approve --url with the approver token", async () => {
    const dir = tempDir("mcpo-approvals-http-");
    const config = writeServersConfig(dir, { approvals: { ask: "destructive" } });
    const env = { MCPO_TEST_APPROVER: "approver-secret-0123456789" };
    const noToken = await cli(["serve", "--approver-token-env", "MCPO_TEST_APPROVER"], { env });
    expect(noToken.code).toBe(2);
    const served = await startCli(
      [
        "serve",
        "--http",
        "127.0.0.1:0",
        "--approver-token-env",
        "MCPO_TEST_APPROVER",
        "--config",
        config,
      ],
      { env },
    );
    const client = new Client({ name: "no-elicitation", version: "1.0.0" });
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(served.firstLine)));
      const refused = await client.callTool({
        name: "execute_code",
        arguments: { code: writeProgram(dir, "over-http.txt") },
      });
      const id = (refused as ToolResult)._meta?.["mcp-optimizer/error"]?.approvalId as string;
      const url = /approvals endpoint (\S+)/.exec(served.stderr())![1]!;
      const denied = await cli(["approvals", "approve", id, "--url", url]);
      expect(denied.code).toBe(4);
      expect(denied.stderr).toContain("refused the token");
      const listed = await cli(
        ["approvals", "list", "--url", url, "--token-env", "MCPO_TEST_APPROVER", "--json"],
        { env },
      );
      expect(JSON.parse(listed.stdout).approvals[0]).toMatchObject({ id, status: "pending" });
      const approved = await cli(
        ["approvals", "approve", id, "--url", url, "--token-env", "MCPO_TEST_APPROVER"],
        { env },
      );
      expect(approved.code, approved.stderr).toBe(0);
      const ran = await client.callTool({ name: "execute_code", arguments: { plan: id } });
      expect(text(ran)).toContain("wrote over-http.txt");
      expect(existsSync(join(dir, "over-http.txt"))).toBe(true);
    } finally {
      await client.close().catch(() => {});
      served.child.kill("SIGTERM");
      await exited(served.child);
    }
  });
});

describe("skills", () => {
  test("save, list, show, call from a program with typed input, new version, delete", async () => {
    const dir = tempDir("mcpo-skills-");
    const config = redisConfig(dir, "skills");
    writeFileSync(join(dir, "one.md"), "1");
    writeFileSync(join(dir, "two.md"), "2");
    const skill = join(dir, "count.ts");
    writeFileSync(
      skill,
      `const l = await files.list_directory({ path: ${JSON.stringify(dir)} });
const names: string[] = String(l.content).split("\\n");
return names.filter((n) => n.endsWith(input.suffix)).length;`,
    );
    const schema = join(dir, "schema.json");
    writeFileSync(
      schema,
      JSON.stringify({
        type: "object",
        properties: { suffix: { type: "string" } },
        required: ["suffix"],
      }),
    );
    const save = (description: string) =>
      cli(
        [
          "skills",
          "save",
          "countBySuffix",
          "--file",
          skill,
          "--input-schema",
          schema,
          "--description",
          description,
          "--config",
          config,
        ],
        {},
      );
    const saved = await save("Count the files of the folder with a suffix.");
    expect(saved.code, saved.stderr).toBe(0);
    expect(saved.stderr).toContain(
      'Saved skill countBySuffix version 1 for tenant "default": skills.countBySuffix(input: { suffix: string; }): Promise<unknown>',
    );
    expect((await save("Count files by suffix, v2.")).stderr).toContain("version 2");

    const listed = await cli(["skills", "list", "--config", config]);
    expect(listed.stdout).toMatch(/countBySuffix\s+2\s+/);
    const shown = await cli([
      "skills",
      "show",
      "countBySuffix",
      "--version",
      "1",
      "--config",
      config,
    ]);
    expect(shown.stdout).toContain("countBySuffix version 1 (versions: 1, 2)");
    expect(shown.stdout).toContain("Count the files of the folder with a suffix.");

    const search = await cli(["search", "count files suffix", "--config", config]);
    expect(search.stdout).toContain("skills.countBySuffix");

    const used = await cli(["run", "-", "--config", config], {
      input: `return await skills.countBySuffix({ suffix: ".md" })`,
    });
    expect(used.code, used.stderr).toBe(0);
    expect(used.stdout.trim()).toBe("2");
    const typed = await cli(["run", "-", "--config", config], {
      input: `return await skills.countBySuffix({ suffix: 1 })`,
    });
    expect(typed.code).toBe(1);
    expect(typed.stderr).toContain("[SKILL_INVALID_INPUT]");

    const deleted = await cli(["skills", "delete", "countBySuffix", "--config", config]);
    expect(deleted.code, deleted.stderr).toBe(0);
    const gone = await cli(["skills", "show", "countBySuffix", "--config", config]);
    expect(gone.code).toBe(5);
  });

  test("a skill that writes asks for approval when called", async () => {
    const dir = tempDir("mcpo-skills-approval-");
    const config = redisConfig(dir, "skills-approval");
    const skill = join(dir, "note.js");
    writeFileSync(
      skill,
      `await files.write_file({ path: ${JSON.stringify(dir)} + "/" + input.name, content: "note" }); return "noted";`,
    );
    const saved = await cli([
      "skills",
      "save",
      "note",
      "--file",
      skill,
      "--description",
      "Write a note.",
      "--config",
      config,
    ]);
    expect(saved.code, saved.stderr).toBe(0);
    const plan = await cli(["run", "-", "--plan", "--config", config], {
      input: `return await skills.note({ name: "n.txt" })`,
    });
    expect(plan.stdout).toContain("files.write_file (destructive, through skill note) once");
    expect(plan.stdout).toContain("skill: note version 1");
    const refused = await cli(["run", "-", "--config", config], {
      input: `return await skills.note({ name: "n.txt" })`,
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("APPROVAL_REQUIRED");
    expect(existsSync(join(dir, "n.txt"))).toBe(false);
  });

  test("skills need a shared store to be saved", async () => {
    const dir = tempDir("mcpo-skills-memory-");
    const config = writeServersConfig(dir);
    writeFileSync(join(dir, "s.js"), "return 1");
    const r = await cli([
      "skills",
      "save",
      "one",
      "--file",
      join(dir, "s.js"),
      "--description",
      "d",
      "--config",
      config,
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("Set sessions.redisUrl");
  });
});

describe("init", () => {
  test("writes approvals on by default, off with --approvals off", async () => {
    const on = tempDir();
    expect((await cli(["init", "--yes"], { cwd: on })).code).toBe(0);
    expect(
      JSON.parse(readFileSync(join(on, "mcp-optimizer.config.json"), "utf8")).approvals,
    ).toEqual({ ask: "destructive" });
    const off = tempDir();
    expect((await cli(["init", "--yes", "--approvals", "off"], { cwd: off })).code).toBe(0);
    expect(JSON.parse(readFileSync(join(off, "mcp-optimizer.config.json"), "utf8")).approvals).toBe(
      false,
    );
    expect((await cli(["init", "--yes", "--approvals", "maybe"], { cwd: tempDir() })).code).toBe(2);
    // A mistake in the section is named by its path (exit 3).
    const bad = tempDir();
    const config = writeServersConfig(bad, { approvals: { ask: "sometimes" } });
    const refused = await cli(["run", "-", "--plan", "--config", config], { input: "return 1" });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain("approvals.ask");
  });
});
