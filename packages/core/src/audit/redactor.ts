import { OptimizerError } from "../errors.js";
import type { JsonObject, JsonValue } from "../json.js";

export const REDACTED = "[REDACTED]";
/** Secrets shorter than this are ignored: redacting "ab" would shred every text. */
const MIN_SECRET_LENGTH = 4;
/** Encoded fragments shorter than this are not matched: they would hit unrelated text. */
const MIN_FRAGMENT_LENGTH = 6;

export interface Redactor {
  /** Replaces every secret, and its common encodings, in a text. */
  text(value: string): string;
  /** Replaces every secret in every string (keys included) of a JSON value. */
  json<T extends JsonValue | undefined>(value: T): T;
  /** Whether a text contains a secret (in any of the forms `text` replaces). */
  leaks(value: string): boolean;
  readonly size: number;
}

/**
 * Scrubs known secret values (env values, header values, tokens) from anything that leaves the
 * host: the value itself and the forms an upstream or a program commonly turns it into (JSON
 * string escapes, URL encoding, base64 and base64url at any alignment inside a longer encoded
 * text, hex). docs/sandboxes.md says what this cannot catch.
 */
export function createRedactor(secrets: Iterable<string>): Redactor {
  const list = [
    ...new Set([...secrets].filter((s) => typeof s === "string" && s.length >= MIN_SECRET_LENGTH)),
  ];
  const sources = [...new Set(list.flatMap(secretPatterns))].sort((a, b) => b.length - a.length);
  const pattern = sources.length === 0 ? undefined : new RegExp(sources.join("|"), "g");
  const text = (value: string) =>
    pattern && value.length > 0 ? value.replace(pattern, REDACTED) : value;
  const json = <T extends JsonValue | undefined>(value: T): T => {
    if (!pattern || value === undefined || value === null) return value;
    if (typeof value === "string") return text(value) as T;
    if (Array.isArray(value)) return value.map((v) => json(v)) as T;
    if (typeof value === "object") {
      const out: Record<string, JsonValue> = {};
      for (const [k, v] of Object.entries(value)) out[text(k)] = json(v);
      return out as T;
    }
    return value;
  };
  return {
    text,
    json,
    leaks: (value) => (pattern ? new RegExp(pattern.source).test(value) : false),
    size: list.length,
  };
}

/** Regular-expression sources matching a secret and its encoded forms. */
function secretPatterns(secret: string): string[] {
  const bytes = Buffer.from(secret, "utf8");
  const literal = [secret, jsonEscaped(secret)].map(escapeRegExp);
  const percent = [percentPattern(encodeURIComponent(secret)), percentPattern(formEncoded(secret))];
  const hex = [bytes.toString("hex"), bytes.toString("hex").toUpperCase()];
  const base64 = [0, 1, 2].flatMap((offset) => {
    const core = alignedBase64(bytes, offset);
    return core.length < MIN_FRAGMENT_LENGTH ? [] : [core, toBase64Url(core)];
  });
  return [...literal, ...percent, ...hex, ...base64.map(escapeRegExp)].filter((p) => p.length > 0);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}

/** The secret inside a JSON string literal, without the quotes. */
function jsonEscaped(secret: string): string {
  return JSON.stringify(secret).slice(1, -1);
}

/** application/x-www-form-urlencoded: spaces as "+". */
function formEncoded(secret: string): string {
  return encodeURIComponent(secret).replace(/%20/g, "+");
}

/** A percent-encoded text with its escapes in either case (%2f or %2F). */
function percentPattern(encoded: string): string {
  return encoded
    .split(/(%[0-9A-F]{2})/)
    .map((part) =>
      /^%[0-9A-F]{2}$/.test(part)
        ? `%${[...part.slice(1)].map((c) => (/[A-F]/.test(c) ? `[${c}${c.toLowerCase()}]` : c)).join("")}`
        : escapeRegExp(part),
    )
    .join("");
}

/**
 * The base64 characters that depend on the secret alone when it starts `offset` bytes into a
 * 3-byte group of a longer encoded text: the characters at either end that mix in neighbouring
 * bytes are dropped, so the fragment appears in any base64 text that holds the secret there.
 */
function alignedBase64(bytes: Buffer, offset: number): string {
  const padded = Buffer.concat([Buffer.alloc(offset), bytes, Buffer.alloc(3)]);
  const encoded = padded.toString("base64");
  const firstBit = offset * 8;
  const endBit = (offset + bytes.length) * 8;
  const first = Math.ceil(firstBit / 6);
  const end = Math.floor(endBit / 6);
  return end > first ? encoded.slice(first, end) : "";
}

function toBase64Url(base64: string): string {
  return base64.replace(/\+/g, "-").replace(/\//g, "_");
}

/** The error with secrets scrubbed from its message and details (the same error when it had none). */
export function redactError(redactor: Redactor, error: OptimizerError): OptimizerError {
  const message = redactor.text(error.message);
  if (message === error.message && !error.details) return error;
  const details = error.details
    ? (redactor.json(error.details as JsonObject) as Record<string, unknown>)
    : undefined;
  return new OptimizerError(error.code, message, {
    cause: error,
    ...(details ? { details } : {}),
  });
}
