import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { ErrorCodes, OptimizerError, serverGlobalName } from "@mcp-optimizer/core";

export interface CreateAdaptorOptions {
  /** The adaptor's short name: lowercase letters, digits and dashes (`notes`, `my-crm`). Required. */
  name: string;
  /** The workspace root; the package goes to `<directory>/adaptors/<name>`. Required. */
  directory: string;
  /** Replace an existing package folder of that name. Default false. */
  force?: boolean;
}

/** Version range of the reference server the generated test runs against. */
const SERVER_MEMORY_VERSION = "^2026.8.31";

/**
 * The new adaptor's peer range on core, plain as RELEASING.md asks (widened on releases, never
 * narrowed): from the workspace's core version, or 0.1.0 (the first release) while it is 0.0.0.
 */
function corePeerRange(root: string): string {
  const file = join(root, "packages", "core", "package.json");
  const version = existsSync(file)
    ? (JSON.parse(readFileSync(file, "utf8")) as { version?: string }).version
    : undefined;
  return !version || version === "0.0.0" ? "^0.1.0" : `^${version}`;
}

/** Where the templates live: packages/cli/templates/adaptor, from src/ or dist/. */
function templatesDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return join(here, "..", "..", "templates", "adaptor");
}

function listTemplates(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...listTemplates(path, `${prefix}${entry}/`));
    else if (entry.endsWith(".tmpl")) out.push(`${prefix}${entry}`);
  }
  return out;
}

/**
 * Scaffolds a new adaptor package under `adaptors/<name>`: package.json (core as a peer and a
 * workspace dev dependency), tsconfig files, vitest config, src/index.ts with one operation on
 * MCPOptimizer, a test against a real MCP server, a README, and a changeset in `.changeset/`.
 * It builds and its test passes straight away, after `pnpm install`.
 */
export async function createAdaptor(
  options: CreateAdaptorOptions,
): Promise<{ directory: string; files: string[] }> {
  const name = options?.name;
  if (typeof name !== "string" || !/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(name) || name.length > 40) {
    throw new OptimizerError(
      ErrorCodes.INVALID_INPUT,
      `An adaptor name is 1-40 lowercase letters, digits and single dashes, starting with a letter (e.g. "notes", "my-crm"); got ${JSON.stringify(name)}.`,
    );
  }
  if (typeof options.directory !== "string" || !existsSync(options.directory)) {
    throw new OptimizerError(
      ErrorCodes.INVALID_INPUT,
      `The workspace directory ${JSON.stringify(options.directory)} does not exist.`,
    );
  }
  const root = options.directory;
  const target = join(root, "adaptors", name);
  if (existsSync(target)) {
    if (!options.force) {
      throw new OptimizerError(
        ErrorCodes.INVALID_INPUT,
        `${relative(root, target)} already exists; pass force to replace it.`,
        { details: { directory: target } },
      );
    }
    rmSync(target, { recursive: true, force: true });
  }

  const pascal = name
    .split("-")
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join("");
  const values: Record<string, string> = {
    name,
    Pascal: pascal,
    // The server's name in the generated code: the global core gives it (`get` -> `get_`).
    ident: serverGlobalName(name),
    Title: name
      .split("-")
      .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
      .join(" "),
    serverMemoryVersion: SERVER_MEMORY_VERSION,
    corePeerRange: corePeerRange(root),
  };
  const fill = (text: string) =>
    text.replace(/\{\{(\w+)\}\}/g, (match, key: string) => values[key] ?? match);

  const templates = templatesDir();
  const files: string[] = [];
  for (const template of listTemplates(templates)) {
    const content = fill(readFileSync(join(templates, template), "utf8"));
    const plain = template.slice(0, -".tmpl".length);
    const path =
      plain === "changeset.md"
        ? join(root, ".changeset", `adaptor-${name}-initial.md`)
        : plain === "test/adaptor.test.ts"
          ? join(target, "test", `${name}-adaptor.test.ts`)
          : join(target, plain);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
    files.push(relative(root, path));
  }
  return { directory: target, files };
}
