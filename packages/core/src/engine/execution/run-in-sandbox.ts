import { redactError } from "../../audit/redactor.js";
import type { ExecutionHints, SandboxLimits, SandboxOutcome } from "../../contracts/sandbox.js";
import type { SessionRecord } from "../../contracts/session-store.js";
import { ErrorCodes, type OptimizerError, toOptimizerError } from "../../errors.js";
import { Attr } from "../../telemetry/instruments.js";
import type { ExecutionHost } from "../execution-host.js";
import type { Program } from "../transpile.js";
import type { EngineParts } from "./engine-parts.js";

export interface SandboxRun {
  executionId: string;
  session: SessionRecord;
  program: Program;
  limits: SandboxLimits;
  hints: ExecutionHints;
  host: ExecutionHost;
  /** Span attributes of this execution. */
  spanAttrs: Record<string, string>;
}

/** The sandbox's outcome, or why there is none; never throws. */
export type SandboxResult =
  | { outcome: SandboxOutcome; failure?: undefined }
  | { outcome?: undefined; failure: OptimizerError };

/** Runs the program in the session's runner, inside the execution's span. */
export async function runInSandbox(parts: EngineParts, run: SandboxRun): Promise<SandboxResult> {
  const { telemetry, runners } = parts;
  const { spanAttrs, session, host } = run;
  try {
    const outcome = await telemetry.span(
      `execute_tool ${spanAttrs[Attr.toolName]}`,
      spanAttrs,
      async (span) => {
        const { runner, release } = await telemetry.span(
          "mcp_optimizer.sandbox.acquire",
          spanAttrs,
          () => runners.acquire(session.id),
        );
        try {
          const result = await telemetry.span("mcp_optimizer.sandbox.execute", spanAttrs, () => {
            // Tool-call spans are children of this phase, whatever context the sandbox's stream callbacks run in.
            host.traceContext = telemetry.activeContext();
            return runner.execute(
              {
                id: run.executionId,
                code: run.program.code,
                servers: parts.catalog.guestServers(session.allow),
                state: session.state,
                limits: run.limits,
                hints: run.hints,
              },
              host,
            );
          });
          span?.setAttribute(Attr.mode, result.mode);
          return result;
        } finally {
          release();
        }
      },
    );
    return { outcome };
  } catch (error) {
    const failure = redactError(parts.redactor, toOptimizerError(error));
    // A runner that cannot serve is not kept: the session's next execution opens a new one.
    if (failure.code === ErrorCodes.SANDBOX_UNAVAILABLE) await runners.close(session.id);
    return { failure };
  }
}
