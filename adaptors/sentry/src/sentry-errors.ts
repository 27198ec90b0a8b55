import { ErrorCodes, isOptimizerError, type OptimizerError } from "@mcp-optimizer/core";

/**
 * Codes of failures that come from Sentry itself, as the Sentry MCP server reports them.
 * Everything else (bad params, a refused destructive operation, sandbox limits) stays a core
 * `OptimizerError` with its own code.
 */
export const SentryErrorCodes = {
  /** Sentry rejected the access token (HTTP 401). */
  SENTRY_UNAUTHORIZED: "SENTRY_UNAUTHORIZED",
  /** The token lacks a scope or access to that organization/project (HTTP 403). */
  SENTRY_FORBIDDEN: "SENTRY_FORBIDDEN",
  /** No such organization, project, issue or release (HTTP 404). */
  SENTRY_NOT_FOUND: "SENTRY_NOT_FOUND",
  /** Sentry's rate limit (HTTP 429), still hit after the adaptor's retries. */
  SENTRY_RATE_LIMITED: "SENTRY_RATE_LIMITED",
  /** Sentry refused the request as malformed (HTTP 400/422, or the MCP server's input checks). */
  SENTRY_INVALID_REQUEST: "SENTRY_INVALID_REQUEST",
  /** Sentry failed (HTTP 5xx). */
  SENTRY_SERVER_ERROR: "SENTRY_SERVER_ERROR",
  /** Sentry (or the Sentry MCP server) did not answer within the time limit. */
  SENTRY_TIMEOUT: "SENTRY_TIMEOUT",
  /** The Sentry MCP server is not running or cannot be reached. */
  SENTRY_UNAVAILABLE: "SENTRY_UNAVAILABLE",
} as const;

export type SentryErrorCode = (typeof SentryErrorCodes)[keyof typeof SentryErrorCodes];

const known = new Set<string>(Object.values(SentryErrorCodes));

/** A failure reported by Sentry, with a stable `code`. Secret-free: messages come from the redacted host. */
export class SentryAdaptorError extends Error {
  override readonly name = "SentryAdaptorError";
  readonly code: SentryErrorCode;
  /** The HTTP status Sentry answered with, when known. */
  readonly status: number | undefined;
  /** The operation that failed. */
  readonly operation: string;
  /** Whether trying again later may succeed. */
  readonly retryable: boolean;

  constructor(
    code: SentryErrorCode,
    message: string,
    options: { operation: string; status?: number; cause?: unknown },
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status;
    this.operation = options.operation;
    this.retryable =
      code === "SENTRY_RATE_LIMITED" ||
      code === "SENTRY_SERVER_ERROR" ||
      code === "SENTRY_TIMEOUT" ||
      code === "SENTRY_UNAVAILABLE";
  }

  toJSON(): { code: SentryErrorCode; message: string; status?: number; operation: string } {
    return {
      code: this.code,
      message: this.message,
      ...(this.status ? { status: this.status } : {}),
      operation: this.operation,
    };
  }
}

/** True for a SentryAdaptorError from any copy of this package. */
export function isSentryAdaptorError(error: unknown): error is SentryAdaptorError {
  return (
    typeof error === "object" &&
    error !== null &&
    (error as { name?: unknown }).name === "SentryAdaptorError" &&
    known.has((error as { code?: unknown }).code as string)
  );
}

/** `hasSentryErrorCode(err, "SENTRY_NOT_FOUND")`: branch on Sentry failures without `instanceof`. */
export function hasSentryErrorCode(error: unknown, code: SentryErrorCode): boolean {
  return isSentryAdaptorError(error) && error.code === code;
}

const STATUS_CODES: [RegExp, SentryErrorCode, number | undefined][] = [
  [/outside the active (project|organization) constraint/, "SENTRY_FORBIDDEN", undefined],
  [/Authorization Expired|\bHTTP 401\b|API error \(401\)/, "SENTRY_UNAUTHORIZED", 401],
  [/\bHTTP 403\b|API error \(403\)/, "SENTRY_FORBIDDEN", 403],
  [/\bHTTP 404\b|API error \(404\)/, "SENTRY_NOT_FOUND", 404],
  [/\bHTTP 429\b|API error \(429\)/, "SENTRY_RATE_LIMITED", 429],
  [/\bHTTP (5\d\d)\b/, "SENTRY_SERVER_ERROR", undefined],
  [/\bHTTP (400|422)\b|\*\*Input Error\*\*/, "SENTRY_INVALID_REQUEST", undefined],
];

/** Sentry's own explanation in a Sentry MCP error text, without the server's boilerplate. */
function sentryDetail(message: string): string {
  const api = /API error \((\d+)\): ([^\n]*)/.exec(message);
  if (api) return `${api[1]}: ${api[2]!.replace(/\. Please verify.*$/, "")}`;
  const paragraphs = message
    .replace(/^[^\n]*failed: /, "")
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter(
      (p) =>
        p &&
        !p.startsWith("**") &&
        !/^(It looks like there was a problem|You may be able to|There was an HTTP|Please contact support)/.test(
          p,
        ),
    );
  return (paragraphs[0] ?? message).replace(/\s+/g, " ").slice(0, 300);
}

/**
 * Maps what `optimizer.execute()` threw to a SentryAdaptorError when Sentry is the cause;
 * returns other errors unchanged.
 */
export function toSentryError(error: unknown, operation: string): unknown {
  if (!isOptimizerError(error)) return error;
  const e = error as OptimizerError;
  if (e.code === ErrorCodes.UPSTREAM_TIMEOUT || e.code === ErrorCodes.SANDBOX_TIMEOUT) {
    return new SentryAdaptorError(
      "SENTRY_TIMEOUT",
      `Sentry did not answer ${operation} in time (${e.code}): ${e.message}`,
      { operation, cause: e },
    );
  }
  if (e.code === ErrorCodes.UPSTREAM_UNAVAILABLE) {
    return new SentryAdaptorError(
      "SENTRY_UNAVAILABLE",
      `The Sentry MCP server is unavailable: ${e.message}`,
      { operation, cause: e },
    );
  }
  if (e.code !== ErrorCodes.TOOL_ERROR) return e;
  for (const [pattern, code, fixed] of STATUS_CODES) {
    const m = pattern.exec(e.message);
    if (!m) continue;
    const status = fixed ?? (m[1] ? Number(m[1]) : undefined);
    const what =
      code === "SENTRY_UNAUTHORIZED"
        ? "Sentry rejected the access token"
        : `Sentry refused ${operation}`;
    return new SentryAdaptorError(code, `${what} (${sentryDetail(e.message)})`, {
      operation,
      ...(status ? { status } : {}),
      cause: e,
    });
  }
  return e;
}
