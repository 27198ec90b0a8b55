import { Attr, Instruments } from "../../telemetry/instruments.js";
import { countTokensAsync } from "../../tokens/o200k-tokenizer.js";
import { billedTokens, type TokenFigures } from "../../tokens/token-accounting.js";
import type { ExecutionHost } from "../execution-host.js";
import type { EngineParts } from "./engine-parts.js";

export interface ExecutionAccount {
  tokens: TokenFigures;
  cost: { model: string; usedUsd: number; plainMcpUsd: number };
}

export interface AccountInput {
  /** The program as the model wrote it. */
  source: string;
  /** Tokens of what the model reads back (the shaped result, or the error message). */
  resultTokens: number;
  host: ExecutionHost;
  mode: string;
  kind: "run" | "operation";
  /** The error code when the execution failed. */
  errorCode: string | undefined;
  /** The durations of the whole execution, in ms. */
  durationMs: number;
  /** The sandbox took a fallback (hybrid). */
  fellBack: boolean;
}

/**
 * Tokens and cost of the execution in code mode against what plain MCP would have cost for
 * the same tool calls, counted once (the headline) and as a model API bills the round trips
 * of each path (cumulative, with and without a prompt cache), and the execution's metrics.
 * Counting yields to the event loop. docs/encodings-and-accounting.md explains the figures.
 */
export async function accountExecution(
  parts: EngineParts,
  input: AccountInput,
): Promise<ExecutionAccount> {
  const { tokenizer, pricing, telemetry } = parts;
  // Code mode: the model reads the meta-tools, writes the program, reads the result, answers.
  const code = billedTokens(
    {
      definitions: parts.metaToolTokens(),
      steps: [
        { output: await countTokensAsync(tokenizer, input.source), results: input.resultTokens },
      ],
    },
    pricing.cachedInputRate,
  );
  // Plain MCP: every tool definition, then the program's calls as the round trips a model needs.
  const plain = billedTokens(
    { definitions: parts.plainDefinitionTokens(), steps: await input.host.plainMcpSteps() },
    pricing.cachedInputRate,
  );
  const used = code.singlePass;
  const plainMcp = plain.singlePass;
  const tokens: TokenFigures = {
    used,
    plainMcp,
    tokenizer: tokenizer.name,
    saved: plainMcp - used,
    roundTrips: { used: code.roundTrips, plainMcp: plain.roundTrips },
    cumulative: { used: code.cumulative, plainMcp: plain.cumulative },
    cumulativeCached: {
      used: code.cumulativeCached,
      plainMcp: plain.cumulativeCached,
      cachedInputRate: pricing.cachedInputRate,
    },
  };
  const cost = {
    model: pricing.model,
    usedUsd: pricing.cost(used),
    plainMcpUsd: pricing.cost(plainMcp),
  };

  const { mode } = input;
  const metricAttrs = {
    [Attr.mode]: mode,
    [Attr.outcome]: input.errorCode ? "error" : "ok",
    [Attr.kind]: input.kind,
    ...(input.errorCode ? { [Attr.errorType]: input.errorCode } : {}),
  };
  telemetry.count(Instruments.executions, 1, metricAttrs);
  telemetry.seconds(Instruments.executionDuration, input.durationMs, metricAttrs);
  telemetry.count(Instruments.tokensUsed, used, { [Attr.mode]: mode });
  telemetry.count(Instruments.tokensPlainMcp, plainMcp, { [Attr.mode]: mode });
  telemetry.count(Instruments.tokensSaved, Math.max(0, plainMcp - used), { [Attr.mode]: mode });
  telemetry.count(Instruments.costEstimated, cost.usedUsd, {
    [Attr.model]: cost.model,
    [Attr.costPath]: "code_mode",
  });
  telemetry.count(Instruments.costEstimated, cost.plainMcpUsd, {
    [Attr.model]: cost.model,
    [Attr.costPath]: "plain_mcp",
  });
  if (input.fellBack) telemetry.count(Instruments.sandboxFallbacks, 1, { [Attr.mode]: mode });
  return { tokens, cost };
}
