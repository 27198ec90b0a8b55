import type { LogEntry, SandboxOutcome } from "../../contracts/sandbox.js";
import type { JsonValue } from "../../json.js";
import type { ExecutionPrivacy } from "../../privacy/execution-privacy.js";
import { describeHandle, storeHandle } from "../../results/result-handles.js";
import type { ModelEncoding } from "../../tokens/model-encoding.js";
import { countTokensAsync } from "../../tokens/o200k-tokenizer.js";
import { cutToBudget, renderOutcome, renderOutcomeForModel } from "../shape-result.js";
import type { EngineParts } from "./engine-parts.js";

export interface ShapedOutcome {
  /** The outcome with secrets scrubbed from its value and logs (and personal data tokenized). */
  outcome: SandboxOutcome;
  /** What the model reads: the value and console output within the token budget. */
  text: string;
  /** The result was cut, or replaced by a handle's description. */
  truncated: boolean;
  tokens: number;
  /** How the value was written for the model (undefined when the program returned nothing, or for a handle). */
  encoding: ModelEncoding | undefined;
  /** The handle the full result was kept behind, when it was over the budget. */
  handle?: string;
}

/**
 * Scrubs secrets from what the program returned and logged (and, with privacy on, replaces
 * personal and sensitive data by tokens), and renders it for the model in the cheapest
 * faithful encoding (`resultEncoding`). A result over the token budget is kept behind a handle
 * and described (shape, counts, statistics, a sample); one too large to keep is cut. Counted
 * without blocking the event loop: a result can be megabytes.
 */
export async function shapeOutcome(
  parts: EngineParts,
  outcome: SandboxOutcome,
  context: { sessionId: string; privacy: ExecutionPrivacy | undefined },
): Promise<ShapedOutcome> {
  const { redactor, tokenizer } = parts;
  const budget = parts.settings.maxResultTokens;
  const { privacy } = context;
  const value = redactor.json(outcome.value);
  let logs: LogEntry[] = outcome.logs.map((l) => ({ level: l.level, text: redactor.text(l.text) }));
  if (privacy) {
    logs = await Promise.all(logs.map(async (l) => ({ ...l, text: await privacy.text(l.text) })));
  }
  const seen = privacy ? await privacy.json(value) : value;
  const redacted = { ...outcome, logs, value: seen };
  const rendered = await renderOutcomeForModel(seen, logs, outcome.logsTruncated, {
    tokenizer,
    encoding: parts.settings.resultEncoding,
  });
  if (
    rendered.tokens > budget &&
    value !== undefined &&
    parts.settings.resultHandles &&
    parts.features.on("resultHandles")
  ) {
    // The program reads back what it returned, secrets scrubbed (they never enter a sandbox).
    const handle = await storeHandle(
      parts.sessions.entries,
      context.sessionId,
      value as JsonValue,
      parts.settings.resultHandles,
    );
    if (handle) {
      let text = await describeHandle(
        handle,
        value as JsonValue,
        rendered.tokens,
        budget,
        tokenizer,
      );
      if (privacy) text = await privacy.text(text);
      if (logs.length > 0) text += `\n\n${renderOutcome(undefined, logs, outcome.logsTruncated)}`;
      const shaped = cutToBudget(text, await countTokensAsync(tokenizer, text), tokenizer, budget);
      return {
        outcome: redacted,
        text: shaped.text,
        truncated: true,
        tokens: shaped.tokens,
        encoding: undefined,
        handle,
      };
    }
  }
  const shaped = cutToBudget(rendered.text, rendered.tokens, tokenizer, budget);
  return {
    outcome: redacted,
    text: shaped.text,
    truncated: shaped.truncated,
    tokens: shaped.tokens,
    encoding: rendered.encoding,
  };
}
