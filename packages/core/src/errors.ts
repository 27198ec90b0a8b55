/**
 * One error family for the whole framework. Every failure carries a stable string `code`
 * that callers branch on; messages say what to fix. Never rely on `instanceof` across
 * packages (two copies of core may be installed): use `hasErrorCode()`.
 */
export const ErrorCodes = {
  /** The configuration has a wrong or unknown field; the message names its path. */
  INVALID_CONFIG: "INVALID_CONFIG",
  /** An argument to a public API is wrong (empty code, bad session id, ...). */
  INVALID_INPUT: "INVALID_INPUT",
  /** The program does not parse. */
  CODE_SYNTAX_ERROR: "CODE_SYNTAX_ERROR",
  /** The program threw and did not catch it. */
  CODE_RUNTIME_ERROR: "CODE_RUNTIME_ERROR",
  /** The program returned (or left in `state`) a value that is not JSON. */
  RESULT_NOT_SERIALIZABLE: "RESULT_NOT_SERIALIZABLE",
  /** The program ran past `maxExecutionTime`. */
  SANDBOX_TIMEOUT: "SANDBOX_TIMEOUT",
  /** The program exhausted `maxMemoryMb`. */
  SANDBOX_MEMORY: "SANDBOX_MEMORY",
  /** The program produced more output than the sandbox accepts. */
  SANDBOX_OUTPUT_LIMIT: "SANDBOX_OUTPUT_LIMIT",
  /** The sandbox runner died for another reason. */
  SANDBOX_CRASHED: "SANDBOX_CRASHED",
  /** The requested sandbox mode cannot run here (package missing, engine down, ...). */
  SANDBOX_UNAVAILABLE: "SANDBOX_UNAVAILABLE",
  /** A frame on the host/guest bridge was malformed or too large. */
  BRIDGE_PROTOCOL_ERROR: "BRIDGE_PROTOCOL_ERROR",
  /** No upstream server has that name. */
  SERVER_NOT_FOUND: "SERVER_NOT_FOUND",
  /** The server has no tool of that name. */
  TOOL_NOT_FOUND: "TOOL_NOT_FOUND",
  /** The session's allowlist does not permit this server or tool. */
  TOOL_DENIED: "TOOL_DENIED",
  /** The arguments do not match the tool's input schema. */
  TOOL_INVALID_ARGUMENTS: "TOOL_INVALID_ARGUMENTS",
  /** The upstream tool ran and reported an error (`isError`). */
  TOOL_ERROR: "TOOL_ERROR",
  /** The upstream did not answer within the per-call timeout. */
  UPSTREAM_TIMEOUT: "UPSTREAM_TIMEOUT",
  /** The upstream server is not connected (crashed, dropped, unreachable). */
  UPSTREAM_UNAVAILABLE: "UPSTREAM_UNAVAILABLE",
  /** One result of an upstream tool was larger than the server's `maxResultBytes`. */
  UPSTREAM_RESULT_TOO_LARGE: "UPSTREAM_RESULT_TOO_LARGE",
  /** An upstream's API description (an OpenAPI document) is invalid; the message names the problem. */
  UPSTREAM_SPEC_INVALID: "UPSTREAM_SPEC_INVALID",
  /** A compare-and-set update lost against a concurrent writer. */
  SESSION_CONFLICT: "SESSION_CONFLICT",
  /** No session has that id (or it expired). */
  SESSION_NOT_FOUND: "SESSION_NOT_FOUND",
  /** A session with that id already exists. */
  SESSION_EXISTS: "SESSION_EXISTS",
  /** The session would exceed the store's size limit. */
  SESSION_TOO_LARGE: "SESSION_TOO_LARGE",
  /** The stored session could not be decoded. */
  SESSION_CORRUPT: "SESSION_CORRUPT",
  /** The session store cannot be reached. */
  SESSION_STORE_UNAVAILABLE: "SESSION_STORE_UNAVAILABLE",
  /** An entry (context, handle, approval, skill) changed since it was read: re-read and retry. */
  ENTRY_CONFLICT: "ENTRY_CONFLICT",
  /** An entry's value is over the store's size limit. */
  ENTRY_TOO_LARGE: "ENTRY_TOO_LARGE",
  /** A write would take its scope over the limits it carried; `details.cap` is "bytes" or "entries". */
  ENTRY_SCOPE_FULL: "ENTRY_SCOPE_FULL",
  /** A context write would take a principal's context over a cap; `details.cap` names it (context.maxBytes, context.maxEntries). */
  CONTEXT_TOO_LARGE: "CONTEXT_TOO_LARGE",
  /** A part switched off by a feature flag was asked for; `details.flag` names the flag. */
  FEATURE_DISABLED: "FEATURE_DISABLED",
  /** A call would send data from a sensitive tool where privacy.flows does not allow it; it was not made. */
  EGRESS_DENIED: "EGRESS_DENIED",
  /** No result handle of that id in this session (it expired, or never existed). */
  HANDLE_NOT_FOUND: "HANDLE_NOT_FOUND",
  /** Other executions of the session held its turn longer than the wait allows; nothing ran. */
  SESSION_BUSY: "SESSION_BUSY",
  /** The execution's lease lapsed and a later one was granted: its save was refused, nothing written. */
  SESSION_LEASE_LOST: "SESSION_LEASE_LOST",
  /** No operation is registered under that name. */
  OPERATION_NOT_FOUND: "OPERATION_NOT_FOUND",
  /** The operation's parameters do not match its input schema. */
  OPERATION_INVALID_PARAMS: "OPERATION_INVALID_PARAMS",
  /** The optimizer was closed. */
  OPTIMIZER_CLOSED: "OPTIMIZER_CLOSED",
  /** A limit on use was reached (tool calls of one execution; a gateway tenant's quotas); `details` name it. */
  QUOTA_EXCEEDED: "QUOTA_EXCEEDED",
  /** The program reaches tools the approval policy asks a person about; nothing ran. `details.approvalId` names the pending approval. */
  APPROVAL_REQUIRED: "APPROVAL_REQUIRED",
  /** A person declined the program's plan; nothing ran. */
  APPROVAL_DENIED: "APPROVAL_DENIED",
  /** No such approval for this tenant (expired, used, for another program or session). */
  APPROVAL_NOT_FOUND: "APPROVAL_NOT_FOUND",
  /** A call outside the approved plan (a name computed at run time) to a tool that needs approval; it was not made. */
  TOOL_NOT_APPROVED: "TOOL_NOT_APPROVED",
  /** No skill of that name (or version) for this tenant. */
  SKILL_NOT_FOUND: "SKILL_NOT_FOUND",
  /** A skill's input does not match the JSON Schema it was saved with. */
  SKILL_INVALID_INPUT: "SKILL_INVALID_INPUT",
  /** Anything else; a bug if you see it. */
  INTERNAL_ERROR: "INTERNAL_ERROR",
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface OptimizerErrorOptions {
  cause?: unknown;
  /** Structured, secret-free context (a field path, a tool name, limits). */
  details?: Record<string, unknown>;
}

export class OptimizerError extends Error {
  override readonly name = "OptimizerError";
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: OptimizerErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

const knownCodes = new Set<string>(Object.values(ErrorCodes));

/** True for any error of this family, from any copy of core. */
export function isOptimizerError(error: unknown): error is OptimizerError {
  return (
    typeof error === "object" &&
    error !== null &&
    (error as { name?: unknown }).name === "OptimizerError" &&
    typeof (error as { code?: unknown }).code === "string" &&
    knownCodes.has((error as { code: string }).code)
  );
}

/** `hasErrorCode(err, "SANDBOX_TIMEOUT")`: the cross-package way to branch on errors. */
export function hasErrorCode(error: unknown, code: ErrorCode): boolean {
  return isOptimizerError(error) && error.code === code;
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && knownCodes.has(value);
}

/** Wraps anything thrown into the family, keeping an existing code. */
export function toOptimizerError(
  error: unknown,
  fallback: ErrorCode = ErrorCodes.INTERNAL_ERROR,
): OptimizerError {
  if (isOptimizerError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new OptimizerError(fallback, message, { cause: error });
}
