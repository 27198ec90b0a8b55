import { type AuditRecord, createRedactor, type JsonValue, REDACTED } from "@mcp-optimizer/core";

/** Argument names whose values never reach an audit record (matched case- and separator-insensitively, as a suffix). */
export const DEFAULT_REDACTED_ARGUMENT_KEYS: readonly string[] = [
  "password",
  "passwd",
  "secret",
  "token",
  "apikey",
  "authorization",
  "cookie",
  "privatekey",
  "credentials",
];

export interface AuditRedactionOptions {
  /** Values scrubbed from every string and key of a record (config tokens, header values). Default none. */
  secrets?: string[];
  /** Argument names whose values become "[REDACTED]" at any depth, matched as a suffix ("githubToken"). Default DEFAULT_REDACTED_ARGUMENT_KEYS. */
  redactArgumentKeys?: readonly string[];
  /** What of tool arguments is kept: "full" (after redaction), "keys" (names only), "none". Default "full". */
  argumentsPolicy?: "full" | "keys" | "none";
}

const normalize = (key: string) => key.toLowerCase().replace(/[^a-z0-9]/g, "");

/**
 * The sinks' own redaction, on top of what the engine already scrubbed: configured secret
 * values anywhere, sensitive argument names, and the arguments policy. Returns a new record.
 */
export function createAuditRedaction(
  options: AuditRedactionOptions = {},
): (record: AuditRecord) => AuditRecord {
  const redactor = createRedactor(options.secrets ?? []);
  const keys = (options.redactArgumentKeys ?? DEFAULT_REDACTED_ARGUMENT_KEYS).map(normalize);
  const policy = options.argumentsPolicy ?? "full";
  const sensitive = (key: string) => {
    const k = normalize(key);
    return keys.some((s) => s.length > 0 && k.endsWith(s));
  };
  const scrubArgs = (value: JsonValue | undefined): JsonValue | undefined => {
    if (Array.isArray(value)) return value.map((v) => scrubArgs(v) ?? null);
    if (value !== null && typeof value === "object") {
      const out: Record<string, JsonValue> = {};
      for (const [k, v] of Object.entries(value))
        out[k] = sensitive(k) ? REDACTED : (scrubArgs(v) ?? null);
      return out;
    }
    return value;
  };
  return (record) => {
    let copy = record;
    if (record.type === "tool_call") {
      const args =
        policy === "none"
          ? undefined
          : policy === "keys"
            ? keysOnly(record.args)
            : scrubArgs(record.args);
      copy = { ...record, args };
      if (args === undefined) delete (copy as { args?: unknown }).args;
    }
    return redactor.json(copy as unknown as JsonValue) as unknown as AuditRecord;
  };
}

function keysOnly(value: JsonValue | undefined): JsonValue | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  return Object.keys(value);
}
