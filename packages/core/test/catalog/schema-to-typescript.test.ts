import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { assignIdentifiers } from "../../src/catalog/identifiers.js";
import {
  guestGlobalsDeclaration,
  schemaToType,
  serverDeclarations,
  toolDeclaration,
} from "../../src/catalog/schema-to-typescript.js";
import { OUTPUT_CORPUS, SCHEMA_CORPUS } from "./schema-corpus.js";

const TSC = join(dirname(fileURLToPath(import.meta.url)), "../../node_modules/.bin/tsc");
const dir = mkdtempSync(join(tmpdir(), "mcpo-types-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function compile(files: Record<string, string>): { ok: boolean; output: string } {
  const names: string[] = [];
  for (const [name, text] of Object.entries(files)) {
    writeFileSync(join(dir, name), text);
    names.push(join(dir, name));
  }
  const r = spawnSync(
    TSC,
    [
      "--ignoreConfig",
      "--noEmit",
      "--strict",
      "--target",
      "es2023",
      "--lib",
      "es2023",
      "--types",
      "",
      ...names,
    ],
    {
      encoding: "utf8",
      cwd: dir,
    },
  );
  if (r.error) throw new Error(`Cannot run the TypeScript compiler at ${TSC}: ${r.error.message}`);
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

const corpusTools = () => {
  const names = Object.keys(SCHEMA_CORPUS).map((n) => `tool-${n}`);
  const ids = assignIdentifiers(names);
  return names.map((name, i) => {
    const key = Object.keys(SCHEMA_CORPUS)[i]!;
    const output =
      key === "everythingEcho"
        ? OUTPUT_CORPUS.weather
        : key === "recursiveTree"
          ? OUTPUT_CORPUS.recursive
          : undefined;
    return {
      name,
      identifier: ids.get(name)!,
      description: `Tool for ${key}. Has a */ in its doc to try to break comments.`,
      inputSchema: SCHEMA_CORPUS[key]!,
      ...(output ? { outputSchema: output } : {}),
      ...(i % 3 === 0 ? { annotations: { readOnlyHint: true } } : {}),
    };
  });
};

describe("generated declarations compile with the TypeScript compiler", () => {
  test("a server made of every schema in the corpus, plus the guest globals", () => {
    const server = serverDeclarations({
      name: "awkward-server",
      identifier: "awkward_server",
      description: "Odd schemas.",
      tools: corpusTools(),
    });
    const globals = guestGlobalsDeclaration([
      { name: "awkward-server", identifier: "awkward_server", toolCount: 1 },
    ]);
    const result = compile({ "awkward.d.ts": server, "globals.d.ts": globals });
    expect(result.output).toBe("");
    expect(result.ok).toBe(true);
  }, 60_000);

  test("each schema alone, as a type alias", () => {
    const text = Object.entries(SCHEMA_CORPUS)
      .map(([name, schema]) => `type T_${name} = ${schemaToType(schema)};`)
      .join("\n");
    const result = compile({ "each.ts": `${text}\nexport {};\n` });
    expect(result.output).toBe("");
  }, 60_000);

  test("two servers' declarations compile together", () => {
    const a = serverDeclarations({ name: "a", identifier: "a", tools: corpusTools().slice(0, 10) });
    const b = serverDeclarations({ name: "b", identifier: "b", tools: corpusTools().slice(5, 15) });
    expect(compile({ "a.d.ts": a, "b.d.ts": b }).output).toBe("");
  }, 60_000);

  test("correct calls type-check and wrong ones do not", () => {
    const tools = corpusTools();
    const server = serverDeclarations({ name: "gh", identifier: "gh", tools });
    const id = (key: string) => tools.find((t) => t.name === `tool-${key}`)!.identifier;
    const usage = `
async function main() {
  const w = await gh.${id("everythingEcho")}({ message: "hi" });
  const t: number = w.temperature;
  await gh.${id("githubLike")}({ owner: "o", repo: "r", state: "open", labels: ["bug"] });
  await gh.${id("zodDefinitions")}({ filter: { state: "closed" }, limit: 5 });
  await gh.${id("recursiveTree")}({ root: { name: "a", children: [{ name: "b", children: [] }] } });
  await gh.${id("emptyObject")}();
  const raw = await gh.${id("everythingEcho")}.raw({ message: "x" });
  const blocks: unknown[] = raw.content;
  // @ts-expect-error message must be a string
  await gh.${id("everythingEcho")}({ message: 42 });
  // @ts-expect-error repo is required
  await gh.${id("githubLike")}({ owner: "o" });
  // @ts-expect-error state is an enum
  await gh.${id("githubLike")}({ owner: "o", repo: "r", state: "merged" });
  // @ts-expect-error closed object: no extra keys
  await gh.${id("zodDefinitions")}({ filter: {}, extra: 1 });
  // @ts-expect-error recursive children are nodes, not strings
  await gh.${id("recursiveTree")}({ root: { name: "a", children: ["b"] } });
  return [t, blocks];
}
export { main };
`;
    const result = compile({ "gh.d.ts": server, "usage.ts": usage });
    expect(result.output).toBe("");
  }, 60_000);
});

describe("schemaToType", () => {
  test("enums become unions of escaped literals", () => {
    expect(schemaToType({ enum: ["a", 'b"c', 1, null] })).toBe('"a" | "b\\"c" | 1 | null');
  });

  test("required properties are not optional; odd keys are quoted", () => {
    const t = schemaToType(SCHEMA_CORPUS.oddKeys);
    expect(t).toContain('"x-api-key": string;');
    expect(t).toContain("constructor: boolean;");
    expect(t).toContain('"1st"?: number;');
  });

  test("type arrays, nullable and tuples", () => {
    expect(schemaToType({ type: ["string", "null"] })).toBe("string | null");
    expect(schemaToType({ type: "string", nullable: true })).toBe("string | null");
    expect(schemaToType(SCHEMA_CORPUS.tuple2020)).toContain("point?: [number, number];");
    expect(schemaToType(SCHEMA_CORPUS.tupleDraft7)).toContain(
      "pair?: [string, number, ...boolean[]];",
    );
    expect(
      schemaToType({ type: "array", items: { anyOf: [{ type: "string" }, { type: "number" }] } }),
    ).toBe("(string | number)[]");
  });

  test("empty, boolean and unknown schemas never throw", () => {
    expect(schemaToType({})).toBe("unknown");
    expect(schemaToType(true)).toBe("unknown");
    expect(schemaToType(false)).toBe("never");
    expect(schemaToType(null)).toBe("unknown");
    expect(schemaToType(SCHEMA_CORPUS.garbage)).toBe("unknown");
    expect(schemaToType(SCHEMA_CORPUS.deepNesting)).toContain("unknown");
  });

  test("a recursive $ref inlines to a bounded depth on its own", () => {
    const t = schemaToType(SCHEMA_CORPUS.recursiveTree);
    expect(t).toContain("children?:");
    expect(t).toContain("unknown");
  });
});

describe("toolDeclaration", () => {
  test("a recursive $ref yields a named type that references itself", () => {
    const { types } = toolDeclaration(
      { name: "tree", identifier: "tree", inputSchema: SCHEMA_CORPUS.recursiveTree! },
      { serverIdentifier: "fs" },
    );
    expect(types).toMatch(/type FsTreeNode = \{[\s\S]*children\?: FsTreeNode\[\];/);
    expect(types).toContain("root: FsTreeNode;");
  });

  test("annotations are visible, absent ones with the protocol's defaults", () => {
    const { declaration } = toolDeclaration(
      {
        name: "delete-repo",
        identifier: "delete_repo",
        description: "Deletes a repository.",
        inputSchema: { type: "object" },
      },
      { serverIdentifier: "gh" },
    );
    expect(declaration).toContain("@readOnlyHint false (not annotated: the MCP default)");
    expect(declaration).toContain("@destructiveHint true (not annotated: the MCP default)");
    expect(declaration).toContain('MCP tool name: "delete-repo".');
    expect(declaration).toContain(
      "delete_repo: ToolFunctionOptionalArgs<GhDeleteRepoInput, unknown>;",
    );
    const ro = toolDeclaration(
      {
        name: "get",
        identifier: "get",
        inputSchema: { type: "object" },
        annotations: { readOnlyHint: true, openWorldHint: false },
      },
      { serverIdentifier: "gh" },
    );
    expect(ro.declaration).toContain("@readOnlyHint true");
    expect(ro.declaration).toContain("@destructiveHint false (read-only)");
    expect(ro.declaration).toContain("@openWorldHint false");
  });

  test("output schemas name the return type", () => {
    const { declaration, types } = toolDeclaration(
      {
        name: "weather",
        identifier: "weather",
        inputSchema: SCHEMA_CORPUS.everythingEcho!,
        outputSchema: OUTPUT_CORPUS.weather!,
      },
      { serverIdentifier: "demo" },
    );
    expect(declaration).toContain("ToolFunction<DemoWeatherInput, DemoWeatherOutput>");
    expect(types).toContain("temperature: number;");
  });
});
