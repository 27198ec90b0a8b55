import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { cli, tempDir, writeServersConfig } from "./helpers.js";

/** A program file as `run` takes it: TypeScript, top-level await and return. */
const PROGRAM = `interface Listing {
  content: string;
}
const listing = (await files.list_directory({ path: state.dir })) as Listing;
const notes: string[] = listing.content.split("\\n").filter((line: string) => line.endsWith(".md"));
console.log(\`found \${notes.length} markdown notes\`);
state.runs = ((state.runs as number | undefined) ?? 0) + 1;
return { notes: notes.length, runs: state.runs };
`;
let dir: string;
let config: string;

beforeAll(() => {
  dir = tempDir("mcpo-run-");
  for (let i = 0; i < 300; i++)
    writeFileSync(join(dir, `n${i}.${i % 30 === 0 ? "md" : "txt"}`), "x");
  config = writeServersConfig(dir);
});

describe("run", () => {
  test("runs a TypeScript file: result on stdout, logs and token figures on stderr", async () => {
    const program = `state.dir = ${JSON.stringify(dir)};
${PROGRAM}`;
    const file = join(dir, "program.ts");
    writeFileSync(file, program);
    const r = await cli(["run", file, "--config", config]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ notes: 10, runs: 1 });
    expect(r.stderr).toContain("[log] found 10 markdown notes");
    const figures =
      /tokens (\d+) in code mode vs (\d+) over plain MCP \(([\d.]+)% less, o200k_base\)/.exec(
        r.stderr,
      );
    expect(figures, r.stderr).not.toBeNull();
    expect(Number(figures![2])).toBeGreaterThan(Number(figures![1]));
    expect(r.stderr).toContain("1 tool calls");
    // Beside the single pass: the figures as billed over each path's round trips.
    expect(r.stderr).toMatch(
      /as billed over 2 vs 2 round trips \d+ vs \d+, with a prompt cache at 0\.1 \d+ vs \d+/,
    );
  });

  test("--json gives the whole result; a program from stdin works", async () => {
    const r = await cli(["run", "-", "--json", "--config", config], {
      input: `const a = await memory.read_graph({}); return { entities: a.entities.length, ok: true };`,
    });
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.value).toEqual({ entities: 0, ok: true });
    expect(result.mode).toBe("process");
    expect(result.toolCalls).toHaveLength(1);
    expect(result.toolCalls[0]).toMatchObject({
      server: "memory",
      tool: "read_graph",
      outcome: "ok",
    });
    expect(result.tokens.tokenizer).toBe("o200k_base");
  });

  test("a program that throws: exit 1 with the error code; a syntax error too", async () => {
    const thrown = await cli(["run", "-", "--config", config], {
      input: "throw new Error('boom')",
    });
    expect(thrown.code).toBe(1);
    expect(thrown.stderr).toContain("boom");
    expect(thrown.stderr).toContain("[CODE_RUNTIME_ERROR]");
    const syntax = await cli(["run", "-", "--config", config], { input: "return (" });
    expect(syntax.code).toBe(1);
    expect(syntax.stderr).toContain("[CODE_SYNTAX_ERROR]");
    const json = await cli(["run", "-", "--json", "--config", config], {
      input: "await files.nope({})",
    });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).error.code).toBe("TOOL_NOT_FOUND");
  });

  test("--session with in-memory sessions warns that the state ends with the process", async () => {
    const r = await cli(["run", "-", "--session", "s1", "--config", config], { input: "return 1" });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("the session's state ends with this process");
    expect(r.stderr).toContain("session s1");
  });

  test("a missing file is exit 5; no file is exit 2", async () => {
    const missing = await cli(["run", join(dir, "nope.ts"), "--config", config]);
    expect(missing.code).toBe(5);
    expect(missing.stderr).toContain("Cannot read");
    const none = await cli(["run", "--config", config]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("run needs a program FILE");
  });
});

describe("search", () => {
  test("ranks the tools of every configured server", async () => {
    const r = await cli(["search", "read", "a", "file", "--config", config]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split("\n")[0]).toMatch(/^files\.read_\w+\(/);
    const json = await cli([
      "search",
      "create entities",
      "--json",
      "--limit",
      "3",
      "--config",
      config,
    ]);
    const hits = JSON.parse(json.stdout) as { server: string; call: string; score: number }[];
    expect(hits.length).toBeLessThanOrEqual(3);
    expect(hits[0]).toMatchObject({ server: "memory", call: "memory.create_entities" });
    expect(hits[0]!.score).toBeGreaterThanOrEqual(hits.at(-1)!.score);
  });

  test("--server narrows; --detail full prints declarations; bad detail is exit 2", async () => {
    const only = await cli(["search", "read", "--server", "memory", "--json", "--config", config]);
    expect(
      (JSON.parse(only.stdout) as { server: string }[]).every((h) => h.server === "memory"),
    ).toBe(true);
    const full = await cli([
      "search",
      "open nodes",
      "--detail",
      "full",
      "--limit",
      "1",
      "--config",
      config,
    ]);
    expect(full.stdout).toContain("open_nodes");
    expect(full.stdout).toMatch(/names: string\[\]/);
    const bad = await cli(["search", "x", "--detail", "all", "--config", config]);
    expect(bad.code).toBe(2);
  });

  test("nothing found goes to stderr with exit 0", async () => {
    const r = await cli(["search", "zzqqxx", "--config", config]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
  });
});
