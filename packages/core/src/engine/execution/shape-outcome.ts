import type { SandboxOutcome } from "../../contracts/sandbox.js";
import type { ModelEncoding } from "../../tokens/model-encoding.js";
import { cutToBudget, renderOutcomeForModel } from "../shape-result.js";
import type { EngineParts } from "./engine-parts.js";

export interface ShapedOutcome {
  /** The outcome with secrets scrubbed from its value and logs. */
  outcome: SandboxOutcome;
  /** What the model reads: the value and console output, cut to the token budget. */
  text: string;
  truncated: boolean;
  tokens: number;
  /** How the value was written for the model (undefined when the program returned nothing). */
  encoding: ModelEncoding | undefined;
}

/**
 * Scrubs secrets from what the program returned and logged, and renders it for the model in
 * the cheapest faithful encoding (`resultEncoding`), cut to the token budget (counted without
 * blocking the event loop: a result can be megabytes).
 */
export async function shapeOutcome(
  parts: EngineParts,
  outcome: SandboxOutcome,
): Promise<ShapedOutcome> {
  const { redactor } = parts;
  const logs = outcome.logs.map((l) => ({ level: l.level, text: redactor.text(l.text) }));
  const redacted = { ...outcome, logs, value: redactor.json(outcome.value) };
  const rendered = await renderOutcomeForModel(redacted.value, logs, redacted.logsTruncated, {
    tokenizer: parts.tokenizer,
    encoding: parts.settings.resultEncoding,
  });
  const shaped = cutToBudget(
    rendered.text,
    rendered.tokens,
    parts.tokenizer,
    parts.settings.maxResultTokens,
  );
  return {
    outcome: redacted,
    text: shaped.text,
    truncated: shaped.truncated,
    tokens: shaped.tokens,
    encoding: rendered.encoding,
  };
}
