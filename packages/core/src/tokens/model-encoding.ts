import { decode as decodeToon, encode as encodeToon } from "@toon-format/toon";
import type { Tokenizer } from "../contracts/tokenizer.js";
import { ErrorCodes, OptimizerError } from "../errors.js";
import type { JsonValue } from "../json.js";
import { countTokensAsync } from "./o200k-tokenizer.js";

/** How a value is written for the model: compact JSON, TOON, or the text itself. */
export type ModelEncoding = "json" | "toon" | "text";

/** The `resultEncoding` setting: the cheapest faithful encoding (`auto`), or always one. */
export type ModelEncodingSetting = "auto" | ModelEncoding;

export const MODEL_ENCODING_SETTINGS: readonly ModelEncodingSetting[] = [
  "auto",
  "json",
  "toon",
  "text",
];

/**
 * The one line that precedes a TOON text, so the model knows how to read it. JSON and plain
 * text need no line: a model reads them without being told.
 */
export const TOON_FORMAT_LINE = "(TOON; key[N]{a,b}: rows of a,b)";

/**
 * Values whose compact JSON is longer than this are not tried in TOON: encoding and checking it
 * runs on the host's event loop (tens of ms at this size, growing faster than the text), and
 * such a value is over the default result budget (8000 tokens) and cut anyway.
 */
export const TOON_MAX_JSON_CHARS = 64 * 1024;

export interface EncodedForModel {
  encoding: ModelEncoding;
  /** The text the model reads, with the format line when it needs one. */
  text: string;
  /** Tokens of `text`. */
  tokens: number;
}

export interface ModelEncodingOptions {
  tokenizer: Tokenizer;
  /** Which encoding; "auto" takes the cheapest faithful one. Default "auto". */
  encoding?: ModelEncodingSetting;
  /**
   * A plain-text rendering of the value made by the caller (a search listing's lines), a third
   * candidate beside JSON and TOON. A string value is its own plain text.
   */
  text?: string;
}

/**
 * Writes a value for the model in the encoding that costs the fewest tokens by `tokenizer`
 * among compact JSON, TOON (with its format line) and plain text (a string value, or the
 * caller's rendering). TOON is a candidate only when decoding it gives back the same JSON
 * value and that JSON is at most TOON_MAX_JSON_CHARS long; ties go to JSON. `encoding` other
 * than "auto" forces one where it is faithful (text only where there is a text, TOON only where
 * it is a candidate); else JSON, never something unfaithful.
 */
export async function encodeForModel(
  value: JsonValue,
  options: ModelEncodingOptions,
): Promise<EncodedForModel> {
  const setting = options.encoding ?? "auto";
  assertEncodingSetting(setting);
  const { tokenizer } = options;
  const json = JSON.stringify(value);
  const plain = options.text ?? (typeof value === "string" ? value : undefined);
  const count = (text: string) => countTokensAsync(tokenizer, text);

  if (setting === "json") return { encoding: "json", text: json, tokens: await count(json) };
  if (setting === "text" && plain !== undefined)
    return { encoding: "text", text: plain, tokens: await count(plain) };
  const toon =
    json.length <= TOON_MAX_JSON_CHARS &&
    (setting !== "auto" || (await toonCanWin(value, json, tokenizer)))
      ? toonText(value, json)
      : undefined;
  if (setting === "toon" && toon !== undefined)
    return { encoding: "toon", text: toon, tokens: await count(toon) };
  // A long string is itself: its JSON only adds quotes and escapes, not worth counting twice.
  if (setting === "auto" && typeof value === "string" && json.length > TOON_MAX_JSON_CHARS)
    return { encoding: "text", text: value, tokens: await count(value) };

  const candidates: EncodedForModel[] = [
    { encoding: "json", text: json, tokens: await count(json) },
  ];
  if (setting !== "text" && setting !== "toon") {
    if (plain !== undefined)
      candidates.push({ encoding: "text", text: plain, tokens: await count(plain) });
    if (toon !== undefined)
      candidates.push({ encoding: "toon", text: toon, tokens: await count(toon) });
  }
  let best = candidates[0]!;
  for (const c of candidates) if (c.tokens < best.tokens) best = c;
  return best;
}

/** Tokens of TOON_FORMAT_LINE, per tokenizer: what every TOON candidate costs at least. */
const formatLineTokens = new WeakMap<Tokenizer, number>();

/**
 * Whether TOON could be strictly cheaper than the JSON, so worth encoding and checking (on the
 * hot path of every execution). A primitive's TOON is its JSON (or, for a string, the plain
 * text candidate) behind the format line; and a JSON text of at most as many characters as the
 * format line has tokens costs at most that many tokens, which TOON cannot beat.
 */
async function toonCanWin(value: JsonValue, json: string, tokenizer: Tokenizer): Promise<boolean> {
  if (value === null || typeof value !== "object") return false;
  let floor = formatLineTokens.get(tokenizer);
  if (floor === undefined) {
    floor = await countTokensAsync(tokenizer, TOON_FORMAT_LINE);
    formatLineTokens.set(tokenizer, floor);
  }
  return json.length > floor;
}

/**
 * The value as TOON behind its format line, or undefined when TOON cannot carry it faithfully
 * (decoding does not give back the same JSON, or the encoder refuses it, e.g. a lone surrogate).
 */
export function toonText(value: JsonValue, json = JSON.stringify(value)): string | undefined {
  let body: string;
  try {
    body = encodeToon(value);
    if (JSON.stringify(decodeToon(body)) !== json) return undefined;
  } catch {
    return undefined;
  }
  return `${TOON_FORMAT_LINE}\n${body}`;
}

/** Reads back what `encodeForModel` wrote: the round trip its tests check. */
export function decodeFromModel(encoded: Pick<EncodedForModel, "encoding" | "text">): JsonValue {
  switch (encoded.encoding) {
    case "json":
      return JSON.parse(encoded.text) as JsonValue;
    case "text":
      return encoded.text;
    case "toon": {
      const prefix = `${TOON_FORMAT_LINE}\n`;
      if (!encoded.text.startsWith(prefix))
        throw new Error("a TOON text starts with its format line");
      return decodeToon(encoded.text.slice(prefix.length)) as JsonValue;
    }
  }
}

export function assertEncodingSetting(setting: unknown): asserts setting is ModelEncodingSetting {
  if (!MODEL_ENCODING_SETTINGS.includes(setting as ModelEncodingSetting)) {
    throw new OptimizerError(
      ErrorCodes.INVALID_CONFIG,
      `resultEncoding is one of ${MODEL_ENCODING_SETTINGS.join(", ")}; got ${JSON.stringify(setting)}.`,
      { details: { setting: "resultEncoding" } },
    );
  }
}
