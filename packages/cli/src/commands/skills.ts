import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import {
  ErrorCodes,
  isPlainObject,
  type JsonObject,
  loggedProgram,
  OptimizerError,
  SkillBook,
  type SkillRecord,
  skillSignature,
} from "@mcp-optimizer/core";
import { boolFlag, type Command, stringFlag } from "../command.js";
import { loadConfig } from "../config/load-config.js";
import { ExitCodes } from "../exit-codes.js";
import { formatTable, writeJson, writeLine } from "../io.js";
import { loadSessionStore } from "../runtime/load-session-store.js";
import { intFlag, usageError } from "../usage-error.js";

const HELP = `Usage: mcp-optimizer skills save NAME --description TEXT (--file FILE | --from SESSION:EXECUTION)
                            [--input-schema FILE] [--tenant T]
       mcp-optimizer skills list [--tenant T] [--json]
       mcp-optimizer skills show NAME [--version N] [--tenant T] [--json]
       mcp-optimizer skills delete NAME [--tenant T]

Skills are programs saved under a name (docs/approvals-and-skills.md): they appear in
mcp.search() and search_tools with kind "skill" and their typed signature, run in code as
\`await skills.NAME(input)\` and by name through execute({ operation: NAME }), and carry the
approval requirements of the tools they reach. Each save of a name is a new version.

Skills live in the configured session store (sessions.redisUrl), per tenant, where every
serving replica finds them; with in-memory sessions they would end with this command, so
save and delete need Redis.

Options:
  --description TEXT   what the skill does, for search (required by save)
  --file FILE          the program (TypeScript or JavaScript; it reads \`input\`); "-" is stdin
  --from S:E           promote execution E of session S (its program from the session log)
  --input-schema FILE  JSON Schema of \`input\`, checked on every call (default: any object)
  --version N          show this version (default: the newest)
  --tenant T           the tenant (default: sessions.tenant, else "default")
  --json               print JSON
  --config FILE        the config file (default: $MCPO_CONFIG, ./mcp-optimizer.config.json)
  -h, --help           this help
`;

async function readStdin(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}

function readFile(cwd: string, file: string, what: string): string {
  try {
    return readFileSync(resolve(cwd, file), "utf8");
  } catch (error) {
    throw new OptimizerError(
      ErrorCodes.INVALID_INPUT,
      `Cannot read ${what} ${file}: ${(error as Error).message}`,
      { details: { exitCode: ExitCodes.NOT_FOUND } },
    );
  }
}

export const skillsCommand: Command = {
  name: "skills",
  summary: "save, list, show or delete skills (named, versioned programs)",
  help: HELP,
  maxPositionals: 2,
  options: {
    description: { type: "string" },
    file: { type: "string" },
    from: { type: "string" },
    "input-schema": { type: "string" },
    version: { type: "string" },
    tenant: { type: "string" },
    json: { type: "boolean" },
  },
  async run({ values, positionals, io, config }) {
    const [action, name] = positionals;
    if (!["save", "list", "show", "delete"].includes(action ?? "")) {
      throw usageError(
        `skills takes save NAME, list, show NAME or delete NAME${action ? `; got "${action}"` : ""}`,
        "skills",
      );
    }
    if (action === "list" && name !== undefined)
      throw usageError("skills list takes no NAME", "skills");
    if (action !== "list" && !name) throw usageError(`skills ${action} needs a NAME`, "skills");
    const json = boolFlag(values, "json");
    const version = intFlag(stringFlag(values, "version"), "version", "skills");
    const loaded = await loadConfig({ explicit: config });
    const store = await loadSessionStore(loaded.config.sessions, loaded.config.sandbox?.redisUrl);
    try {
      const tenant = stringFlag(values, "tenant") ?? loaded.config.sessions?.tenant ?? "default";
      if (store.kind === "memory") {
        if (action === "save" || action === "delete")
          throw new OptimizerError(
            ErrorCodes.INVALID_CONFIG,
            "Skills live in the session store, and this config keeps sessions in memory (no sessions.redisUrl): a saved skill would end with this command. Set sessions.redisUrl, or save skills through the API (optimizer.skills.save).",
          );
        writeLine(
          io.stderr,
          "mcp-optimizer: sessions are in memory (no sessions.redisUrl): there are no skills to see from here.",
        );
      }
      const book = new SkillBook(store.entries);
      if (action === "save") {
        const description = stringFlag(values, "description");
        if (!description) throw usageError("skills save needs --description TEXT", "skills");
        const file = stringFlag(values, "file");
        const from = stringFlag(values, "from");
        if ((file === undefined) === (from === undefined))
          throw usageError(
            "skills save takes the program from --file FILE or --from SESSION:EXECUTION",
            "skills",
          );
        let code: string;
        if (file !== undefined)
          code = file === "-" ? await readStdin(io.stdin) : readFile(io.cwd, file, "the program");
        else {
          const colon = from!.lastIndexOf(":");
          if (colon <= 0) throw usageError("--from takes SESSION:EXECUTION", "skills");
          code = await loggedProgram(store, tenant, {
            sessionId: from!.slice(0, colon),
            executionId: from!.slice(colon + 1),
          });
        }
        const schemaFile = stringFlag(values, "input-schema");
        let inputSchema: JsonObject | undefined;
        if (schemaFile !== undefined) {
          try {
            inputSchema = JSON.parse(readFile(io.cwd, schemaFile, "the input schema"));
          } catch (error) {
            if (error instanceof OptimizerError) throw error;
            throw new OptimizerError(
              ErrorCodes.INVALID_INPUT,
              `${schemaFile} is not JSON: ${(error as Error).message}`,
            );
          }
          if (!isPlainObject(inputSchema))
            throw new OptimizerError(
              ErrorCodes.INVALID_INPUT,
              `${schemaFile} must hold a JSON Schema object.`,
            );
        }
        const record = await book.save(tenant, {
          name: name!,
          description,
          code,
          ...(inputSchema ? { inputSchema } : {}),
          by: "cli",
        });
        if (json) writeJson(io.stdout, record);
        else
          writeLine(
            io.stderr,
            `Saved skill ${record.name} version ${record.version} for tenant "${tenant}": ${skillSignature(record)}`,
          );
        return ExitCodes.OK;
      }
      if (action === "list") {
        const skills = await book.list(tenant);
        if (json) writeJson(io.stdout, { tenant, skills });
        else if (skills.length === 0) writeLine(io.stderr, `No skills for tenant "${tenant}".`);
        else
          writeLine(
            io.stdout,
            formatTable(
              ["name", "version", "saved", "by", "description"],
              skills.map((s) => [
                s.name,
                s.version,
                s.savedAt,
                s.savedBy,
                s.description.split("\n")[0]!.slice(0, 80),
              ]),
            ),
          );
        return ExitCodes.OK;
      }
      if (action === "show") {
        const record = await book.get(tenant, name!, version);
        const versions = await book.versions(tenant, name!);
        if (json) writeJson(io.stdout, { ...record, versions: versions.map((v) => v.version) });
        else writeLine(io.stdout, describe(record, versions));
        return ExitCodes.OK;
      }
      if (!(await book.delete(tenant, name!)))
        throw new OptimizerError(
          ErrorCodes.SKILL_NOT_FOUND,
          `No skill "${name}" for tenant "${tenant}".`,
        );
      if (json) writeJson(io.stdout, { deleted: name });
      else writeLine(io.stderr, `Deleted skill ${name} (every version).`);
      return ExitCodes.OK;
    } finally {
      await store.close().catch(() => {});
    }
  },
};

function describe(record: SkillRecord, versions: SkillRecord[]): string {
  return [
    `${record.name} version ${record.version} (versions: ${versions.map((v) => v.version).join(", ")}), saved by ${record.savedBy} at ${record.savedAt}`,
    record.description,
    "",
    skillSignature(record),
    "",
    "--- program ---",
    record.code,
  ].join("\n");
}
