import type { EntryWriteOptions } from "../contracts/entry-store.js";
import { ErrorCodes, OptimizerError } from "../errors.js";

/** Largest entry value a store keeps by default, in bytes of its JSON (a result handle's size). */
export const DEFAULT_MAX_ENTRY_BYTES = 4 * 1024 * 1024;

// 1-256 characters, no control characters: keys and scopes go into Redis keys and logs.
const CONTROL = /\p{Cc}/u;

/** Checks a scope and a key, with a message that says what to fix. */
export function assertEntryName(what: "scope" | "key", value: unknown): asserts value is string {
  if (typeof value !== "string" || value.length < 1 || value.length > 256 || CONTROL.test(value)) {
    throw new OptimizerError(
      ErrorCodes.INVALID_INPUT,
      `An entry ${what} is 1-256 characters without control characters; got ${JSON.stringify(value)?.slice(0, 80)}.`,
    );
  }
}

export function assertEntryOptions(options: EntryWriteOptions): void {
  const { ttlMs, expectedVersion, scopeLimits } = options;
  if (
    scopeLimits !== undefined &&
    !(
      Number.isInteger(scopeLimits.maxBytes) &&
      scopeLimits.maxBytes >= 1 &&
      Number.isInteger(scopeLimits.maxEntries) &&
      scopeLimits.maxEntries >= 1
    )
  ) {
    throw new OptimizerError(
      ErrorCodes.INVALID_INPUT,
      `scopeLimits needs integers maxBytes and maxEntries of at least 1; got ${JSON.stringify(scopeLimits)}.`,
    );
  }
  if (ttlMs !== undefined && (!Number.isInteger(ttlMs) || ttlMs < 1)) {
    throw new OptimizerError(
      ErrorCodes.INVALID_INPUT,
      `An entry TTL is a positive integer of milliseconds; got ${ttlMs}.`,
    );
  }
  if (
    expectedVersion !== undefined &&
    (!Number.isInteger(expectedVersion) || expectedVersion < 0)
  ) {
    throw new OptimizerError(
      ErrorCodes.INVALID_INPUT,
      `expectedVersion is an integer, 0 or more (0: the entry must not exist); got ${expectedVersion}.`,
    );
  }
}

/** ENTRY_SCOPE_FULL: what the scope would hold, over which of its limits. */
export function scopeFull(
  scope: string,
  key: string,
  cap: "bytes" | "entries",
  limit: number,
  would: number,
): OptimizerError {
  return new OptimizerError(
    ErrorCodes.ENTRY_SCOPE_FULL,
    `Writing entry "${key}" would take ${scope} to ${would} ${cap}, over its limit of ${limit}.`,
    { details: { scope, key, cap, limit, would } },
  );
}

/** The value as stored text, refused with ENTRY_TOO_LARGE over the limit. */
export function entryText(scope: string, key: string, value: unknown, maxBytes: number): string {
  const text = JSON.stringify(value);
  if (text === undefined) {
    throw new OptimizerError(ErrorCodes.INVALID_INPUT, `Entry "${key}" needs a JSON value.`);
  }
  const bytes = Buffer.byteLength(text);
  if (bytes > maxBytes) {
    throw new OptimizerError(
      ErrorCodes.ENTRY_TOO_LARGE,
      `Entry "${key}" of ${scope} would take ${bytes} bytes, over this store's limit of ${maxBytes} (maxEntryBytes); store less in it.`,
      { details: { scope, key, bytes, limit: maxBytes } },
    );
  }
  return text;
}

export function entryConflict(
  scope: string,
  key: string,
  expected: number,
  actual: number,
): OptimizerError {
  return new OptimizerError(
    ErrorCodes.ENTRY_CONFLICT,
    expected === 0
      ? `Entry "${key}" of ${scope} already exists (version ${actual}); read it and try again.`
      : `Entry "${key}" of ${scope} changed (version ${actual}, expected ${expected}); read it and try again.`,
    { details: { scope, key, expectedVersion: expected, actualVersion: actual } },
  );
}
