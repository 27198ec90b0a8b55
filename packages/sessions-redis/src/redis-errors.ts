import { ErrorCodes, isOptimizerError, OptimizerError } from "@mcp-optimizer/core";

// Reply errors that mean "the server cannot serve right now", not "you asked wrongly".
const UNAVAILABLE_REPLIES =
  /^(LOADING|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|BUSY|NOREPLICAS|OOM|MISCONF|NOAUTH|WRONGPASS|NOPERM)\b/;
// Redis refusing who we are: a wrong or missing password or user, not a network problem.
const AUTH_FAILURES =
  /\b(NOAUTH|WRONGPASS|NOPERM)\b|invalid (username-)?password|Authentication required/i;

/**
 * Turns whatever ioredis throws into the error family: connection trouble and timeouts are
 * SESSION_STORE_UNAVAILABLE, a key of the wrong type is SESSION_CORRUPT. Messages carry no
 * URL (a URL may hold a password).
 */
export function toStoreError(error: unknown, what: string, address: string): OptimizerError {
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
    if (AUTH_FAILURES.test(message)) return authFailed(what, message, address);
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
  return unavailable(what, message, address, err);
}

/** SESSION_STORE_UNAVAILABLE naming the address (never the URL: it may hold a password). */
export function unavailable(
  what: string,
  why: string,
  address: string,
  cause?: Error,
): OptimizerError {
  if (AUTH_FAILURES.test(why)) return authFailed(what, why, address, cause);
  return new OptimizerError(
    ErrorCodes.SESSION_STORE_UNAVAILABLE,
    `${what}: Redis at ${address} is unreachable (${why}); the store reconnects by itself.`,
    { details: { address, reason: "unreachable" }, ...(cause ? { cause } : {}) },
  );
}

function authFailed(what: string, why: string, address: string, cause?: Error): OptimizerError {
  return new OptimizerError(
    ErrorCodes.SESSION_STORE_UNAVAILABLE,
    `${what}: Redis at ${address} refused authentication (${why}). Check the user and password in the URL (redis://user:password@host:port) or in redisOptions.`,
    { details: { address, reason: "authentication" }, ...(cause ? { cause } : {}) },
  );
}

/** Where a store's options point, for messages: host:port, never credentials. */
export function describeAddress(options: {
  url?: string;
  sentinels?: { host: string; port: number }[];
  name?: string;
  cluster?: { host: string; port: number }[];
  client?: unknown;
}): string {
  const list = (nodes: { host: string; port: number }[]) =>
    nodes.map((n) => `${n.host}:${n.port}`).join(",");
  if (options.url !== undefined) {
    try {
      const url = new URL(options.url);
      return `${url.hostname}:${url.port || 6379}`;
    } catch {
      return "the configured URL";
    }
  }
  if (options.sentinels)
    return `Sentinel ${list(options.sentinels)} (master "${options.name ?? "mymaster"}")`;
  if (options.cluster) return `Cluster ${list(options.cluster)}`;
  return "the given client's server";
}
