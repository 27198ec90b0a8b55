import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { ErrorCodes, OptimizerError } from "@mcp-optimizer/core";
import { boolFlag, type Command, stringFlag } from "../command.js";
import { ExitCodes } from "../exit-codes.js";
import { writeJson, writeLine } from "../io.js";
import { usageError } from "../usage-error.js";
import { createAdaptor } from "./create-adaptor.js";

const HELP = `Usage: mcp-optimizer create-adaptor NAME [--dir DIR] [--force] [--json]

Scaffolds a new adaptor package in adaptors/NAME of a workspace: package.json, tsconfig
files, vitest config, src/index.ts with one operation on MCPOptimizer, a test against a
real MCP server, a README and a changeset. Run \`pnpm install\` afterwards.

Options:
  --dir DIR   the workspace root (default: the working directory)
  --force     replace an existing adaptors/NAME
  --json      print the created files as JSON
  -h, --help  this help
`;

export const createAdaptorCommand: Command = {
  name: "create-adaptor",
  summary: "scaffold an adaptor package (adaptors/NAME) in a workspace",
  help: HELP,
  maxPositionals: 1,
  options: { dir: { type: "string" }, force: { type: "boolean" }, json: { type: "boolean" } },
  async run({ values, positionals, io }) {
    const name = positionals[0];
    if (!name) throw usageError("create-adaptor needs a NAME", "create-adaptor");
    const directory = resolve(io.cwd, stringFlag(values, "dir") ?? ".");
    const force = boolFlag(values, "force");
    const target = join(directory, "adaptors", name);
    if (!force && existsSync(target)) {
      throw new OptimizerError(
        ErrorCodes.INVALID_INPUT,
        `${target} already exists; pass --force to replace it.`,
        { details: { directory: target, exitCode: ExitCodes.EXISTS } },
      );
    }
    const created = await createAdaptor({ name, directory, force });
    if (boolFlag(values, "json")) writeJson(io.stdout, created);
    else {
      for (const file of created.files) writeLine(io.stdout, file);
      writeLine(
        io.stderr,
        `Created ${created.directory}. Next: pnpm install, then pnpm --filter ./adaptors/${name} test.`,
      );
    }
    return ExitCodes.OK;
  },
};
