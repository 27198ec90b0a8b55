import { parseArgs } from "node:util";
import { isOptimizerError } from "@mcp-optimizer/core";
import type { Command } from "./command.js";
import { approvalsCommand } from "./commands/approvals.js";
import { benchmarkCommand } from "./commands/benchmark.js";
import { capabilitiesCommand } from "./commands/capabilities.js";
import { contextCommand } from "./commands/context.js";
import { createAdaptorCommand } from "./commands/create-adaptor-command.js";
import { initCommand } from "./commands/init.js";
import { runCommand } from "./commands/run.js";
import { sandboxCommand } from "./commands/sandbox.js";
import { searchCommand } from "./commands/search.js";
import { serveCommand } from "./commands/serve.js";
import { sessionsCommand } from "./commands/sessions.js";
import { skillsCommand } from "./commands/skills.js";
import { ExitCodes, exitCodeFor } from "./exit-codes.js";
import { type Io, processIo, writeLine } from "./io.js";
import { usageError } from "./usage-error.js";
import { cliVersion } from "./version.js";

/** Every command, in the order --help lists them. */
export const commands: Command[] = [
  initCommand,
  serveCommand,
  capabilitiesCommand,
  benchmarkCommand,
  runCommand,
  searchCommand,
  sessionsCommand,
  approvalsCommand,
  skillsCommand,
  contextCommand,
  sandboxCommand,
  createAdaptorCommand,
];

function generalHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return `Usage: mcp-optimizer <command> [options]

Code mode for the Model Context Protocol: your MCP servers behind execute_code and
search_tools, so a model writes one program instead of reading every tool definition
and every intermediate result.

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n")}

Every command takes --config FILE (default: $MCPO_CONFIG, then mcp-optimizer.config.json
or .mcp-optimizer.json in the working directory) and --help.

Exit codes: 0 ok, 1 failed, 2 bad usage, 3 bad or missing config, 4 unavailable
(sandbox, session store, server, port, Node.js >= 22.15.0), 5 not found (session, approval, skill), 6 file exists, 130 interrupted.
`;
}

/** Runs the CLI with these arguments; resolves to the exit code. Never throws. */
export async function main(argv: readonly string[], io: Io = processIo()): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (error) {
    const code = exitCodeFor(error);
    const message = isOptimizerError(error)
      ? `${error.message}${error.code === "INVALID_INPUT" || error.code === "INVALID_CONFIG" ? "" : ` [${error.code}]`}`
      : error instanceof Error
        ? error.message
        : String(error);
    writeLine(io.stderr, `mcp-optimizer: ${message}`);
    if (io.env.MCPO_DEBUG && error instanceof Error && error.stack)
      writeLine(io.stderr, error.stack);
    return code;
  }
}

async function dispatch(argv: readonly string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr.write(generalHelp());
    return ExitCodes.USAGE;
  }
  if (name === "--help" || name === "-h" || name === "help") {
    const topic = rest[0] ? commands.find((c) => c.name === rest[0]) : undefined;
    io.stdout.write(topic ? topic.help : generalHelp());
    return ExitCodes.OK;
  }
  if (name === "--version" || name === "-v" || name === "version") {
    writeLine(io.stdout, cliVersion());
    return ExitCodes.OK;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    const near = commands.find((c) => c.name.startsWith(name.slice(0, 3)));
    throw usageError(`unknown command "${name}"${near ? `; did you mean "${near.name}"?` : ""}`);
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...rest],
      options: {
        ...command.options,
        config: { type: "string", short: "c" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw usageError(
      (error as Error).message.replace(/\. To specify a positional.*$/s, ""),
      command.name,
    );
  }
  if (parsed.values.help === true) {
    io.stdout.write(command.help);
    return ExitCodes.OK;
  }
  if (parsed.positionals.length > command.maxPositionals) {
    throw usageError(
      `unexpected argument "${parsed.positionals[command.maxPositionals]}"`,
      command.name,
    );
  }
  const config = typeof parsed.values.config === "string" ? parsed.values.config : undefined;
  return command.run({ values: parsed.values, positionals: parsed.positionals, io, config });
}
