import { promisify } from "node:util";
import { constants, deflateRaw, inflateRaw } from "node:zlib";
import type { SessionData } from "@mcp-optimizer/core";
import { ErrorCodes, newSessionData, OptimizerError } from "@mcp-optimizer/core";

const deflate = promisify(deflateRaw);
const inflate = promisify(inflateRaw);

/**
 * The most a stored value may inflate to. Far above any session limit a writer could set (the
 * default is 1 MiB), but a hand-made deflate bomb stops here instead of filling the heap.
 */
export const MAX_INFLATED_BYTES = 64 * 1024 * 1024;

/**
 * The stored blob starts with one format byte, so a later release can read what an earlier
 * one wrote (and refuse, with SESSION_CORRUPT, what it does not know):
 *   0x01  JSON array [allow, state, files, snippets, log, counters]
 *   0x02  the same array, raw-deflated (used above `compressAboveBytes`)
 * Positional arrays keep field names out of every stored value.
 */
export const FORMAT_JSON = 0x01;
export const FORMAT_DEFLATE = 0x02;

export interface EncodedSession {
  blob: Buffer;
  /** The JSON before compression (its bytes are what the size limit counts). */
  json: string;
}

export interface EncodeOptions {
  maxSessionBytes: number;
  compressAboveBytes: number;
  id: string;
}

export async function encodeSessionData(
  data: SessionData,
  options: EncodeOptions,
): Promise<EncodedSession> {
  let json: string;
  try {
    json = JSON.stringify([
      data.allow,
      data.state,
      data.files,
      data.snippets,
      data.log,
      data.counters,
    ]);
  } catch (error) {
    throw new OptimizerError(
      ErrorCodes.INVALID_INPUT,
      `Session "${options.id}" holds a value that is not JSON: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const raw = Buffer.from(json, "utf8");
  if (raw.length > options.maxSessionBytes) {
    throw new OptimizerError(
      ErrorCodes.SESSION_TOO_LARGE,
      `Session "${options.id}" would take ${raw.length} bytes, over this store's limit of ${options.maxSessionBytes} (maxSessionBytes); keep less in state, files, snippets or the log.`,
      { details: { bytes: raw.length, limit: options.maxSessionBytes } },
    );
  }
  if (raw.length > options.compressAboveBytes) {
    // Level 1: about three times faster than the default on session JSON, within 5% of its size.
    const packed = await deflate(raw, { level: constants.Z_BEST_SPEED });
    return { blob: Buffer.concat([Buffer.of(FORMAT_DEFLATE), packed]), json };
  }
  return { blob: Buffer.concat([Buffer.of(FORMAT_JSON), raw]), json };
}

function corrupt(id: string, why: string, cause?: unknown): OptimizerError {
  return new OptimizerError(
    ErrorCodes.SESSION_CORRUPT,
    `Session "${id}" is stored in a form this release cannot read (${why}); delete it or restore it from a backup.`,
    cause === undefined ? { details: { sessionId: id } } : { cause, details: { sessionId: id } },
  );
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Reads any format this release knows; anything else is SESSION_CORRUPT, never a crash. */
export async function decodeSessionData(
  id: string,
  tenant: string,
  blob: Buffer,
): Promise<SessionData> {
  if (blob.length === 0) throw corrupt(id, "empty value");
  const format = blob[0];
  let json: string;
  if (format === FORMAT_JSON) {
    json = blob.subarray(1).toString("utf8");
  } else if (format === FORMAT_DEFLATE) {
    try {
      json = (await inflate(blob.subarray(1), { maxOutputLength: MAX_INFLATED_BYTES })).toString(
        "utf8",
      );
    } catch (error) {
      throw corrupt(id, "compressed data does not inflate", error);
    }
  } else {
    throw corrupt(id, `unknown format byte 0x${(format ?? 0).toString(16).padStart(2, "0")}`);
  }
  let fields: unknown;
  try {
    fields = JSON.parse(json);
  } catch (error) {
    throw corrupt(id, "not JSON", error);
  }
  if (!Array.isArray(fields) || fields.length < 6) throw corrupt(id, "not a session array");
  const [allow, state, files, snippets, log, counters] = fields as unknown[];
  if (
    !isObject(allow) ||
    !isObject(state) ||
    !isObject(files) ||
    !isObject(snippets) ||
    !Array.isArray(log) ||
    !isObject(counters)
  ) {
    throw corrupt(id, "a field has the wrong type");
  }
  return newSessionData({
    tenant,
    allow,
    state: state as SessionData["state"],
    files: files as SessionData["files"],
    snippets: snippets as SessionData["snippets"],
    log: log as SessionData["log"],
    counters: counters as unknown as SessionData["counters"],
  });
}
