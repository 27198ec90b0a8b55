import { randomBytes } from "node:crypto";
import type { EntryStore } from "../contracts/entry-store.js";
import type { Tokenizer } from "../contracts/tokenizer.js";
import { ErrorCodes, hasErrorCode, OptimizerError } from "../errors.js";
import type { JsonValue } from "../json.js";
import { describeValue } from "./describe-value.js";

export interface ResultHandleOptions {
  /** How long a handle's value is kept, in ms. Default 3600000 (1 h). */
  ttlMs?: number;
  /** Largest value kept behind a handle, in bytes of its JSON; larger results are cut. Default 4 MiB. */
  maxBytes?: number;
}

export const DEFAULT_HANDLE_TTL_MS = 60 * 60 * 1000;
export const DEFAULT_HANDLE_MAX_BYTES = 4 * 1024 * 1024;

/** Scope of a session's result handles in the entry store. */
export function handleScope(sessionId: string): string {
  return `handles:${sessionId}`;
}

/**
 * Keeps a result too large for the model behind a handle; undefined when it is over the size
 * cap (the caller cuts it instead).
 */
export async function storeHandle(
  store: EntryStore,
  sessionId: string,
  value: JsonValue,
  options: ResultHandleOptions = {},
): Promise<string | undefined> {
  const max = options.maxBytes ?? DEFAULT_HANDLE_MAX_BYTES;
  if (Buffer.byteLength(JSON.stringify(value)) > max) return undefined;
  const id = `h_${randomBytes(4).toString("hex")}`;
  try {
    await store.set(handleScope(sessionId), id, value, {
      ttlMs: options.ttlMs ?? DEFAULT_HANDLE_TTL_MS,
      expectedVersion: 0,
    });
  } catch (error) {
    if (hasErrorCode(error, ErrorCodes.ENTRY_TOO_LARGE)) return undefined;
    throw error;
  }
  return id;
}

/** The value behind a handle of this session, or HANDLE_NOT_FOUND. */
export async function readHandle(
  store: EntryStore,
  sessionId: string,
  id: string,
): Promise<JsonValue> {
  const entry = /^h_[0-9a-f]{8}$/.test(id)
    ? await store.get(handleScope(sessionId), id)
    : undefined;
  if (!entry) {
    throw new OptimizerError(
      ErrorCodes.HANDLE_NOT_FOUND,
      `No result handle "${id}" in this session: handles last an hour after the execution that made them (resultHandles.ttlMs). Run the query again.`,
      { details: { handle: id } },
    );
  }
  return entry.value;
}

/**
 * What the model reads instead of a result over its budget: counts, shape, statistics and as
 * much of a sample as fits in `budget` tokens, and one sentence saying how to get the rest.
 */
export async function describeHandle(
  id: string,
  value: JsonValue,
  fullTokens: number,
  budget: number,
  tokenizer: Tokenizer,
): Promise<string> {
  const summary = describeValue(value);
  const head = [
    `[Result handle ${id}: ${summary.counts}, ${kib(summary.bytes)}, ${fullTokens.toLocaleString("en-US")} tokens, over the ${budget.toLocaleString("en-US")}-token budget. In a program, \`await mcp.handle("${id}")\` returns all of it: filter or aggregate it there and return only what you need.]`,
    `shape: ${summary.shape}`,
    ...(summary.stats ? [`stats: ${summary.stats}`] : []),
  ].join("\n");
  const lines = [head, typeof value === "string" ? "first lines:" : "sample:"];
  let used = tokenizer.count(lines.join("\n"));
  for (const line of summary.sample) {
    const cost = tokenizer.count(line) + 1;
    if (used + cost > budget) break;
    lines.push(line);
    used += cost;
  }
  if (summary.tail && summary.tail.length > 0) {
    const tail = ["last lines:", ...summary.tail];
    const cost = tokenizer.count(tail.join("\n")) + 1;
    if (used + cost <= budget) lines.push(...tail);
  }
  return lines.join("\n");
}

function kib(bytes: number): string {
  return bytes < 1024 ? `${bytes} bytes` : `${(bytes / 1024).toFixed(1)} KiB`;
}
