import { OptimizerError } from "../errors.js";
import type { JsonObject, JsonValue } from "../json.js";

export const REDACTED = "[REDACTED]";
/** Secrets shorter than this are ignored: redacting "ab" would shred every text. */
const MIN_SECRET_LENGTH = 4;

export interface Redactor {
  /** Replaces every secret in a text. */
  text(value: string): string;
  /** Replaces every secret in every string (keys included) of a JSON value. */
  json<T extends JsonValue | undefined>(value: T): T;
  /** Whether a text contains a secret. */
  leaks(value: string): boolean;
  readonly size: number;
}

/** Scrubs known secret values (env values, header values, tokens) from anything that leaves the host. */
export function createRedactor(secrets: Iterable<string>): Redactor {
  const list = [
    ...new Set([...secrets].filter((s) => typeof s === "string" && s.length >= MIN_SECRET_LENGTH)),
  ].sort((a, b) => b.length - a.length);
  const pattern =
    list.length === 0
      ? undefined
      : new RegExp(list.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"), "g");
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
