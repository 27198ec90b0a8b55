import { OptimizerError } from "../errors.js";
import type { JsonObject, JsonValue } from "../json.js";
import { createValueMatcher } from "./value-matcher.js";

export const REDACTED = "[REDACTED]";
/** Secrets shorter than this are ignored: redacting "ab" would shred every text. */
const MIN_SECRET_LENGTH = 4;

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
  const matcher = createValueMatcher(list);
  const text = (value: string) => matcher.replace(value, () => REDACTED);
  const json = <T extends JsonValue | undefined>(value: T): T => {
    if (list.length === 0 || value === undefined || value === null) return value;
    if (typeof value === "string") return text(value) as T;
    if (Array.isArray(value)) return value.map((v) => json(v)) as T;
    if (typeof value === "object") {
      const out: Record<string, JsonValue> = {};
      for (const [k, v] of Object.entries(value)) out[text(k)] = json(v);
      return out as T;
    }
    return value;
  };
  return { text, json, leaks: (value) => matcher.test(value), size: list.length };
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
