import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { ErrorCodes, isOptimizerError, OptimizerError } from "@mcp-optimizer/core";
import { boolFlag, type Command, stringFlag } from "../command.js";
import { ExitCodes } from "../exit-codes.js";
import { writeJson, writeLine } from "../io.js";
import { createRuntime } from "../runtime/create-runtime.js";
import { intFlag, usageError } from "../usage-error.js";

const HELP = `Usage: mcp-optimizer run FILE [--session ID] [--principal P] [--timeout MS] [--json] [--config FILE]

Runs a program (TypeScript or JavaScript: the body of an async function, top-level await
and return allowed) against the configured servers, the way execute_code does. Prints the
result on stdout and the token figures (code mode vs plain MCP) on stderr. FILE "-" reads
the program from stdin.

Options:
  --session ID   run in this session (its state persists in the session store)
  --principal P  whose \`context\` the program uses (default: sessions.principal, else "default")
  --timeout MS   wall-clock limit (default: sandbox.maxExecutionTime)
  --json         print the whole result as JSON (value, tokens, cost, tool calls, logs)
  --config FILE  the config file (default: $MCPO_CONFIG, ./mcp-optimizer.config.json)
  -h, --help     this help
`;

async function readStdin(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}

export const runCommand: Command = {
  name: "run",
  summary: "run a program file against the servers; print result and token figures",
  help: HELP,
  maxPositionals: 1,
  options: {
    session: { type: "string" },
    principal: { type: "string" },
    timeout: { type: "string" },
    json: { type: "boolean" },
  },
  async run({ values, positionals, io, config }) {
    const file = positionals[0];
    if (!file) throw usageError("run needs a program FILE (or - for stdin)", "run");
    const timeoutMs = intFlag(stringFlag(values, "timeout"), "timeout", "run", {
      min: 10,
      max: 3_600_000,
    });
    let code: string;
    try {
      code = file === "-" ? await readStdin(io.stdin) : readFileSync(resolve(io.cwd, file), "utf8");
    } catch (error) {
      throw new OptimizerError(
        ErrorCodes.INVALID_INPUT,
        `Cannot read ${file}: ${(error as Error).message}`,
        {
          details: { exitCode: ExitCodes.NOT_FOUND },
        },
      );
    }
    const sessionId = stringFlag(values, "session");
    const principal = stringFlag(values, "principal");
    const json = boolFlag(values, "json");
    const runtime = await createRuntime({ configFile: config, env: io.env });
    if (sessionId && runtime.optimizer.sessions.kind === "memory") {
      writeLine(
        io.stderr,
        "mcp-optimizer: sessions are in memory (no sessions.redisUrl): the session's state ends with this process.",
      );
    }
    try {
      const result = await runtime.optimizer.run(code, {
        actor: "cli",
        ...(sessionId ? { sessionId } : {}),
        ...(principal ? { principal } : {}),
        ...(timeoutMs ? { timeoutMs } : {}),
      });
      if (json) {
        writeJson(io.stdout, result);
      } else {
        for (const log of result.logs) writeLine(io.stderr, `[${log.level}] ${log.text}`);
        writeLine(
          io.stdout,
          result.value === undefined
            ? ""
            : typeof result.value === "string"
              ? result.value
              : JSON.stringify(result.value, null, 2),
        );
        const t = result.tokens;
        const saving =
          t.plainMcp > t.used
            ? `${((1 - t.used / t.plainMcp) * 100).toFixed(1)}% less`
            : result.toolCalls.length === 0
              ? "no tool calls, nothing to save"
              : "no saving";
        writeLine(
          io.stderr,
          `mcp-optimizer: ${result.mode} sandbox, ${result.durationMs} ms, ${result.toolCalls.length} tool calls; tokens ${t.used} in code mode vs ${t.plainMcp} over plain MCP (${saving}, ${t.tokenizer}); as billed over ${t.roundTrips.used} vs ${t.roundTrips.plainMcp} round trips ${t.cumulative.used} vs ${t.cumulative.plainMcp}, with a prompt cache at ${t.cumulativeCached.cachedInputRate} ${t.cumulativeCached.used} vs ${t.cumulativeCached.plainMcp}; session ${result.sessionId}`,
        );
      }
      return ExitCodes.OK;
    } catch (error) {
      if (json && isOptimizerError(error)) {
        writeJson(io.stdout, { error: error.toJSON() });
      }
      throw error;
    } finally {
      await runtime.close();
    }
  },
};
