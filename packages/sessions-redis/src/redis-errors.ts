import { ErrorCodes, isOptimizerError, OptimizerError } from "@mcp-optimizer/core";

// Reply errors that mean "the server cannot serve right now", not "you asked wrongly".
const UNAVAILABLE_REPLIES =
  /^(LOADING|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|BUSY|NOREPLICAS|OOM|MISCONF|NOAUTH|WRONGPASS|NOPERM)\b/;

/**
 * Turns whatever ioredis throws into the error family: connection trouble and timeouts are
 * SESSION_STORE_UNAVAILABLE, a key of the wrong type is SESSION_CORRUPT. Messages carry no
 * URL (a URL may hold a password).
 */
export function toStoreError(error: unknown, what: string): OptimizerError {
  if (isOptimizerError(error)) return error;
  const err = error instanceof Error ? error : new Error(String(error));
  const message = err.message;
  if (err.name === "ReplyError") {
    // Script errors wrap the reply: "ERR Error running script ... WRONGTYPE ...".
    if (/WRONGTYPE/.test(message)) {
      return new OptimizerError(
        ErrorCodes.SESSION_CORRUPT,
        `${what}: the key holds something that is not a session (${message}).`,
        { cause: err },
      );
    }
    if (UNAVAILABLE_REPLIES.test(message)) {
      return new OptimizerError(
        ErrorCodes.SESSION_STORE_UNAVAILABLE,
        `${what}: Redis cannot serve it now (${message}).`,
        { cause: err },
      );
    }
    return new OptimizerError(ErrorCodes.INTERNAL_ERROR, `${what}: Redis answered ${message}`, {
      cause: err,
    });
  }
  return new OptimizerError(
    ErrorCodes.SESSION_STORE_UNAVAILABLE,
    `${what}: Redis is unreachable (${message}); the store reconnects by itself.`,
    { cause: err },
  );
}

export function unavailable(what: string, why: string): OptimizerError {
  return new OptimizerError(
    ErrorCodes.SESSION_STORE_UNAVAILABLE,
    `${what}: Redis is unreachable (${why}); the store reconnects by itself.`,
  );
}
