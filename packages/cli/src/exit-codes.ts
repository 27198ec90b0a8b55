import { type ErrorCode, ErrorCodes, isOptimizerError } from "@mcp-optimizer/core";

/** The exit codes of every command (documented in the README). */
export const ExitCodes = {
  /** Done. */
  OK: 0,
  /** The work failed: the program threw, a tool failed, a scenario's check failed. */
  FAILED: 1,
  /** Bad command line: unknown command or flag, missing or malformed value. */
  USAGE: 2,
  /** The config file is missing, unreadable or invalid (the message names file and field). */
  CONFIG: 3,
  /** Something the command needs is not available here: a sandbox, the session store, a server, a part a feature flag switched off. */
  UNAVAILABLE: 4,
  /** The named thing does not exist (a session id, an approval, a skill, a context key). */
  NOT_FOUND: 5,
  /** Refused to overwrite a file (init without --force). */
  EXISTS: 6,
  /** Interrupted (Ctrl-C). */
  INTERRUPTED: 130,
} as const;

export type ExitCode = (typeof ExitCodes)[keyof typeof ExitCodes];

const byCode: Partial<Record<ErrorCode, ExitCode>> = {
  [ErrorCodes.INVALID_INPUT]: ExitCodes.USAGE,
  [ErrorCodes.INVALID_CONFIG]: ExitCodes.CONFIG,
  [ErrorCodes.SANDBOX_UNAVAILABLE]: ExitCodes.UNAVAILABLE,
  [ErrorCodes.SESSION_STORE_UNAVAILABLE]: ExitCodes.UNAVAILABLE,
  [ErrorCodes.UPSTREAM_UNAVAILABLE]: ExitCodes.UNAVAILABLE,
  [ErrorCodes.SESSION_NOT_FOUND]: ExitCodes.NOT_FOUND,
  [ErrorCodes.APPROVAL_NOT_FOUND]: ExitCodes.NOT_FOUND,
  [ErrorCodes.SKILL_NOT_FOUND]: ExitCodes.NOT_FOUND,
  [ErrorCodes.SESSION_EXISTS]: ExitCodes.EXISTS,
  [ErrorCodes.FEATURE_DISABLED]: ExitCodes.UNAVAILABLE,
};

/** The exit code for an error: by its OptimizerError code, else FAILED. */
export function exitCodeFor(error: unknown): ExitCode {
  if (isOptimizerError(error)) {
    const forced = error.details?.exitCode;
    if (typeof forced === "number") return forced as ExitCode;
    return byCode[error.code] ?? ExitCodes.FAILED;
  }
  return ExitCodes.FAILED;
}
