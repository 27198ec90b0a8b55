import type { SandboxOutcome } from "../../contracts/sandbox.js";
import { renderOutcome, shapeToBudgetAsync } from "../shape-result.js";
import type { EngineParts } from "./engine-parts.js";

export interface ShapedOutcome {
  /** The outcome with secrets scrubbed from its value and logs. */
  outcome: SandboxOutcome;
  /** What the model reads: the value and console output, cut to the token budget. */
  text: string;
  truncated: boolean;
  tokens: number;
}

/**
 * Scrubs secrets from what the program returned and logged, and renders it for the model
 * (counted without blocking the event loop: a result can be megabytes).
 */
export async function shapeOutcome(
  parts: EngineParts,
  outcome: SandboxOutcome,
): Promise<ShapedOutcome> {
  const { redactor } = parts;
  const logs = outcome.logs.map((l) => ({ level: l.level, text: redactor.text(l.text) }));
  const redacted = { ...outcome, logs, value: redactor.json(outcome.value) };
  const shaped = await shapeToBudgetAsync(
    renderOutcome(redacted.value, logs, redacted.logsTruncated),
    parts.tokenizer,
    parts.settings.maxResultTokens,
  );
  return {
    outcome: redacted,
    text: shaped.text,
    truncated: shaped.truncated,
    tokens: shaped.tokens,
  };
}
