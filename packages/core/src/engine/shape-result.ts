import type { LogEntry } from "../contracts/sandbox.js";
import type { Tokenizer } from "../contracts/tokenizer.js";
import type { JsonValue } from "../json.js";
import {
  encodeForModel,
  type ModelEncoding,
  type ModelEncodingOptions,
} from "../tokens/model-encoding.js";
import { countTokensAsync } from "../tokens/o200k-tokenizer.js";

/**
 * Renders a program's outcome as the text the model reads: the value, then console output.
 * `valueText` is the value as already encoded for the model (see renderOutcomeForModel);
 * without it a string is shown as is and anything else as compact JSON.
 */
export function renderOutcome(
  value: JsonValue | undefined,
  logs: readonly LogEntry[],
  logsTruncated: boolean,
  valueText?: string,
): string {
  let text: string;
  if (value === undefined)
    text = logs.length > 0 ? "" : "(the program returned nothing; `return` the data you need)";
  else text = valueText ?? (typeof value === "string" ? value : JSON.stringify(value));
  if (logs.length > 0 || logsTruncated) {
    const lines = logs.map((l) =>
      l.level === "log" || l.level === "info" ? l.text : `[${l.level}] ${l.text}`,
    );
    if (logsTruncated) lines.push("[console output cut: log less, or return the data instead]");
    text = text
      ? `${text}\n\n--- console ---\n${lines.join("\n")}`
      : `--- console ---\n${lines.join("\n")}`;
  }
  return text;
}

export interface RenderedOutcome {
  text: string;
  /** Tokens of `text`. */
  tokens: number;
  /** How the value was written (undefined when the program returned nothing). */
  encoding: ModelEncoding | undefined;
}

/**
 * renderOutcome with the value in the encoding that costs the model the fewest tokens
 * (compact JSON, TOON or plain text; see encodeForModel), counted without blocking.
 */
export async function renderOutcomeForModel(
  value: JsonValue | undefined,
  logs: readonly LogEntry[],
  logsTruncated: boolean,
  options: ModelEncodingOptions,
): Promise<RenderedOutcome> {
  const encoded = value === undefined ? undefined : await encodeForModel(value, options);
  const text = renderOutcome(value, logs, logsTruncated, encoded?.text);
  const tokens =
    encoded && text === encoded.text
      ? encoded.tokens
      : await countTokensAsync(options.tokenizer, text);
  return { text, tokens, encoding: encoded?.encoding };
}

export interface ShapedText {
  text: string;
  tokens: number;
  truncated: boolean;
  /** Tokens of the text before cutting. */
  fullTokens: number;
}

/** Cuts a text to a token budget and tells the model how to get a smaller result. */
export function shapeToBudget(text: string, tokenizer: Tokenizer, budget: number): ShapedText {
  return cutToBudget(text, tokenizer.count(text), tokenizer, budget);
}

/** shapeToBudget, counting the whole text with `countAsync`: a large result never stalls the host. */
export async function shapeToBudgetAsync(
  text: string,
  tokenizer: Tokenizer,
  budget: number,
): Promise<ShapedText> {
  return cutToBudget(text, await countTokensAsync(tokenizer, text), tokenizer, budget);
}

/** Cuts a text already counted at `fullTokens`; what it counts is at most about the budget's size. */
export function cutToBudget(
  text: string,
  fullTokens: number,
  tokenizer: Tokenizer,
  budget: number,
): ShapedText {
  if (fullTokens <= budget) return { text, tokens: fullTokens, truncated: false, fullTokens };
  const notice = `\n\n[Result cut: ${fullTokens.toLocaleString("en-US")} tokens is over the ${budget.toLocaleString("en-US")}-token budget. Filter, aggregate or slice the data in code and return only what you need.]`;
  const room = Math.max(0, budget - tokenizer.count(notice));
  // Characters per token varies with the text: start from the average, then shrink until it fits.
  let chars = Math.floor((text.length * room) / fullTokens);
  let head = text.slice(0, chars);
  while (chars > 0 && tokenizer.count(head) > room) {
    chars = Math.floor(chars * 0.9);
    head = text.slice(0, chars);
  }
  const shaped = head + notice;
  return { text: shaped, tokens: tokenizer.count(shaped), truncated: true, fullTokens };
}
