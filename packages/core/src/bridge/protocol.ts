import type { GuestServer, LogEntry, SandboxLimits } from "../contracts/sandbox.js";
import { ErrorCodes, isErrorCode, OptimizerError } from "../errors.js";
import type { JsonObject, JsonValue } from "../json.js";
import { isPlainObject } from "../json.js";

/**
 * The host/guest bridge: newline-delimited JSON frames over a byte stream. One protocol for
 * every sandbox (docs/bridge-protocol.md, ADR 0002).
 */
export const BRIDGE_PROTOCOL_VERSION = 1;

/** host -> guest: run a program. */
export interface RunFrame {
  t: "run";
  id: string;
  code: string;
  state: JsonObject;
  servers: GuestServer[];
  limits: Pick<SandboxLimits, "maxOutputBytes" | "maxLogBytes">;
}

/** host -> guest: the answer to a call. */
export type ResultFrame =
  | { t: "result"; id: number; ok: true; value?: JsonValue }
  | { t: "result"; id: number; ok: false; error: { code: string; message: string } };

export type HostFrame = RunFrame | ResultFrame;

/** guest -> host: the runner is up. */
export interface ReadyFrame {
  t: "ready";
  protocol: number;
  engine: string;
}

/**
 * guest -> host: the runner took the run frame and starts the program. Sent by runners that
 * acknowledge (the Node runner); until it comes, the program has not started.
 */
export interface StartedFrame {
  t: "started";
  run: string;
}

/** guest -> host: a request (tool call or discovery). */
export type CallFrame = { t: "call"; id: number; run: string } & (
  | { kind: "tool"; server: string; tool: string; args: JsonValue; raw?: boolean }
  | { kind: "search"; query: string; options?: JsonObject }
  | { kind: "describe"; name: string }
  | { kind: "handle"; handle: string }
  | { kind: "skill"; name: string; input?: JsonValue }
  | {
      kind: "context";
      op: "get" | "set" | "delete" | "list" | "update";
      key?: string;
      prefix?: string;
      value?: JsonValue;
      expected?: JsonValue;
      absent?: boolean;
      options?: JsonValue;
    }
  | { kind: "capabilities" }
);

const CONTEXT_OPS = new Set(["get", "set", "delete", "list", "update"]);

export interface LogFrame {
  t: "log";
  run: string;
  level: LogEntry["level"];
  text: string;
}

export interface DoneFrame {
  t: "done";
  run: string;
  value?: JsonValue;
  state: JsonObject;
  logsTruncated?: boolean;
}

export interface GuestErrorFrame {
  t: "error";
  run: string;
  error: { code?: string; name?: string; message: string; stack?: string };
}

export type GuestFrame =
  | ReadyFrame
  | StartedFrame
  | CallFrame
  | LogFrame
  | DoneFrame
  | GuestErrorFrame;

/** The deepest nesting a guest frame may have; the prelude refuses values deeper than 100. */
export const MAX_FRAME_DEPTH = 128;

const LOG_LEVELS = new Set(["log", "info", "warn", "error", "debug"]);

function protocolError(message: string): OptimizerError {
  return new OptimizerError(ErrorCodes.BRIDGE_PROTOCOL_ERROR, `Malformed bridge frame: ${message}`);
}

/** Validates one parsed guest frame; throws BRIDGE_PROTOCOL_ERROR with what is wrong. */
export function validateGuestFrame(frame: unknown): GuestFrame {
  if (!isPlainObject(frame)) throw protocolError("not a JSON object");
  const f = frame as Record<string, unknown>;
  const str = (key: string): string => {
    if (typeof f[key] !== "string") throw protocolError(`"${f.t}" frame needs a string "${key}"`);
    return f[key] as string;
  };
  switch (f.t) {
    case "ready":
      if (typeof f.protocol !== "number") throw protocolError('"ready" frame needs "protocol"');
      str("engine");
      return f as unknown as ReadyFrame;
    case "started":
      str("run");
      return f as unknown as StartedFrame;
    case "call": {
      if (typeof f.id !== "number" || !Number.isSafeInteger(f.id)) {
        throw protocolError('"call" frame needs an integer "id"');
      }
      str("run");
      if (f.kind === "tool") {
        str("server");
        str("tool");
        if (!("args" in f)) throw protocolError('"call" frame of kind "tool" needs "args"');
        if (f.raw !== undefined && typeof f.raw !== "boolean")
          throw protocolError('"raw" must be boolean');
      } else if (f.kind === "search") {
        str("query");
        if (f.options !== undefined && !isPlainObject(f.options)) {
          throw protocolError('"options" must be an object');
        }
      } else if (f.kind === "describe") {
        str("name");
      } else if (f.kind === "handle") {
        str("handle");
      } else if (f.kind === "skill") {
        str("name");
      } else if (f.kind === "context") {
        if (!CONTEXT_OPS.has(f.op as string))
          throw protocolError(`unknown context op ${JSON.stringify(f.op)}`);
        if (f.key !== undefined && typeof f.key !== "string")
          throw protocolError('"key" must be a string');
        if (f.prefix !== undefined && typeof f.prefix !== "string")
          throw protocolError('"prefix" must be a string');
        if (f.absent !== undefined && typeof f.absent !== "boolean")
          throw protocolError('"absent" must be boolean');
      } else if (f.kind === "capabilities") {
        // no arguments
      } else {
        throw protocolError(`unknown call kind ${JSON.stringify(f.kind)}`);
      }
      return f as unknown as CallFrame;
    }
    case "log":
      str("run");
      str("text");
      if (!LOG_LEVELS.has(f.level as string))
        throw protocolError(`unknown log level ${JSON.stringify(f.level)}`);
      return f as unknown as LogFrame;
    case "done":
      str("run");
      if (!isPlainObject(f.state)) throw protocolError('"done" frame needs an object "state"');
      return f as unknown as DoneFrame;
    case "error": {
      str("run");
      const e = f.error;
      if (!isPlainObject(e) || typeof e.message !== "string") {
        throw protocolError('"error" frame needs "error.message"');
      }
      return f as unknown as GuestErrorFrame;
    }
    default:
      throw protocolError(`unknown frame type ${JSON.stringify(f.t)}`);
  }
}

/**
 * Parses one guest line as a frame: refuses nesting deeper than MAX_FRAME_DEPTH before
 * parsing (a deep value would overflow the host's stack wherever it is walked), then
 * validates. Throws BRIDGE_PROTOCOL_ERROR.
 */
export function parseGuestFrame(line: string): GuestFrame {
  const depth = jsonDepthOver(line, MAX_FRAME_DEPTH);
  if (depth) {
    throw new OptimizerError(
      ErrorCodes.BRIDGE_PROTOCOL_ERROR,
      `The sandbox sent a frame nested deeper than ${MAX_FRAME_DEPTH} levels. Return flatter data.`,
      { details: { maxDepth: MAX_FRAME_DEPTH } },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    const detail = line.length > 120 ? `${line.slice(0, 120)}…` : line;
    throw new OptimizerError(
      ErrorCodes.BRIDGE_PROTOCOL_ERROR,
      `The sandbox wrote something that is not a bridge frame: ${JSON.stringify(detail)}. Programs must not write to stdout directly; use console.log.`,
    );
  }
  return validateGuestFrame(parsed);
}

/** Whether a JSON text nests arrays and objects deeper than `max` (strings are skipped). */
export function jsonDepthOver(text: string, max: number): boolean {
  // Cheap exit: a text with fewer brackets than the limit cannot be too deep.
  if (text.length <= max) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/** Codes a guest may report by itself; tool-call codes are honoured only if the host sent them. */
export const GUEST_REPORTABLE_CODES = new Set<string>([
  ErrorCodes.CODE_RUNTIME_ERROR,
  ErrorCodes.CODE_SYNTAX_ERROR,
  ErrorCodes.RESULT_NOT_SERIALIZABLE,
  ErrorCodes.SANDBOX_OUTPUT_LIMIT,
  ErrorCodes.SANDBOX_MEMORY,
  ErrorCodes.SANDBOX_TIMEOUT,
]);

export function guestErrorCode(code: unknown, hostSent: ReadonlySet<string>) {
  if (isErrorCode(code) && (GUEST_REPORTABLE_CODES.has(code) || hostSent.has(code))) return code;
  return ErrorCodes.CODE_RUNTIME_ERROR;
}

export function encodeFrame(frame: HostFrame | GuestFrame): string {
  return `${JSON.stringify(frame)}\n`;
}
