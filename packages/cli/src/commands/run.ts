import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import {
  ErrorCodes,
  hasErrorCode,
  isOptimizerError,
  OptimizerError,
  type RunResult,
} from "@mcp-optimizer/core";
import { boolFlag, type Command, stringFlag } from "../command.js";
import { ExitCodes } from "../exit-codes.js";
import { type Io, writeJson, writeLine } from "../io.js";
import { formatPlan } from "../report/format-plan.js";
import { createRuntime } from "../runtime/create-runtime.js";
import { isSharedStore } from "../runtime/load-session-store.js";
import { intFlag, usageError } from "../usage-error.js";

const HELP = `Usage: mcp-optimizer run FILE [--session ID] [--principal P] [--timeout MS] [--json] [--config FILE]
       mcp-optimizer run FILE --plan | --dry-run | --approve
       mcp-optimizer run --resume APPROVAL_ID

Runs a program (TypeScript or JavaScript: the body of an async function, top-level await
and return allowed) against the configured servers, the way execute_code does. Prints the
result on stdout and the token figures (code mode vs plain MCP) on stderr. FILE "-" reads
the program from stdin.

With approvals on in the config, a program whose plan reaches tools that ask is not run:
the plan and its approval id are printed (exit 1). Approve it here with --approve, or with
\`mcp-optimizer approvals approve ID\` and then \`run --resume ID\` (a pending approval outlives
this process only in a shared store: sessions.redisUrl).

Options:
  --plan         print the program's effect plan (tools it can reach, their annotations,
                 how often, literal arguments, unknown reach, approval) and run nothing
  --dry-run      read-only tools run for real; every other call is recorded and answered
                 with a placeholder; the calls are printed; nothing is written
  --approve      you approve the program's plan (printed first) if the policy asks
  --resume ID    run a program a person approved (the id APPROVAL_REQUIRED printed)
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
    plan: { type: "boolean" },
    "dry-run": { type: "boolean" },
    approve: { type: "boolean" },
    resume: { type: "string" },
  },
  async run({ values, positionals, io, config }) {
    const file = positionals[0];
    const resume = stringFlag(values, "resume");
    const mode = (["plan", "dry-run", "approve"] as const).filter((f) => boolFlag(values, f));
    if (mode.length > 1 || (resume !== undefined && mode.length > 0))
      throw usageError(
        `--${mode[0] ?? "resume"} and --${mode[1] ?? mode[0]} do not go together`,
        "run",
      );
    if (resume !== undefined) {
      if (file !== undefined) throw usageError("run --resume takes no FILE", "run");
      return resumeApproved(resume, stringFlag(values, "timeout"), boolFlag(values, "json"), {
        io,
        config,
        principal: stringFlag(values, "principal"),
      });
    }
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
      if (boolFlag(values, "plan")) {
        const plan = await runtime.optimizer.plan(code, sessionId ? { sessionId } : {});
        if (json) writeJson(io.stdout, plan);
        else writeLine(io.stdout, formatPlan(plan));
        return ExitCodes.OK;
      }
      const options = {
        actor: "cli",
        ...(sessionId ? { sessionId } : {}),
        ...(principal ? { principal } : {}),
        ...(timeoutMs ? { timeoutMs } : {}),
        ...(boolFlag(values, "dry-run") ? { dryRun: true } : {}),
      };
      let result: RunResult;
      try {
        result = await runtime.optimizer.run(code, options);
      } catch (error) {
        if (!hasErrorCode(error, ErrorCodes.APPROVAL_REQUIRED)) throw error;
        const id = (error as OptimizerError).details?.approvalId as string;
        if (!boolFlag(values, "approve")) {
          writeLine(io.stderr, `mcp-optimizer: ${(error as Error).message} [APPROVAL_REQUIRED]`);
          writeLine(
            io.stderr,
            `mcp-optimizer: approve it with \`mcp-optimizer approvals approve ${id}\` and run \`mcp-optimizer run --resume ${id}\`${isSharedStore(runtime.optimizer.sessions) ? "" : " (the approval lives in this process's memory: use --approve, or sessions.redisUrl)"}, or rerun with --approve.`,
          );
          if (json) writeJson(io.stdout, { error: (error as OptimizerError).toJSON() });
          return ExitCodes.FAILED;
        }
        // The person at the terminal approves what they were shown.
        const record = await runtime.optimizer.approvals.approve(id, { by: "cli" });
        writeLine(io.stderr, `mcp-optimizer: approved (--approve): ${record.plan.summary}`);
        result = await runtime.optimizer.resume(id, {
          actor: "cli",
          ...(principal ? { principal } : {}),
        });
      }
      printResult(io, result, json);
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

/** `run --resume ID`: the approved program, in its own session. */
async function resumeApproved(
  id: string,
  timeout: string | undefined,
  json: boolean,
  { io, config, principal }: { io: Io; config: string | undefined; principal: string | undefined },
): Promise<number> {
  const timeoutMs = intFlag(timeout, "timeout", "run", { min: 10, max: 3_600_000 });
  const runtime = await createRuntime({ configFile: config, env: io.env });
  try {
    const result = await runtime.optimizer.resume(id, {
      actor: "cli",
      ...(principal ? { principal } : {}),
      ...(timeoutMs ? { timeoutMs } : {}),
    });
    printResult(io, result, json);
    return ExitCodes.OK;
  } catch (error) {
    if (json && isOptimizerError(error)) writeJson(io.stdout, { error: error.toJSON() });
    throw error;
  } finally {
    await runtime.close();
  }
}

function printResult(io: Io, result: RunResult, json: boolean): void {
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
    if (result.dryRun) {
      writeLine(
        io.stderr,
        `mcp-optimizer: dry run, ${result.dryRun.calls.filter((c) => !c.ran).length} calls not made:`,
      );
      for (const c of result.dryRun.calls)
        writeLine(
          io.stderr,
          `  ${c.ran ? "ran    " : "not run"}  ${c.tool}(${JSON.stringify(c.args).slice(0, 300)})`,
        );
    }
  }
}
