import { ErrorCodes, isOptimizerError } from "../errors.js";

export interface RetryOptions {
  /** Attempts in all, the first included. Default 3. */
  attempts?: number;
  /** Delay before the second attempt in ms; doubles each time, with jitter. Default 100. */
  baseDelayMs?: number;
}

/** Failures worth another attempt: the server was away or slow, not wrong. */
export function isTransient(error: unknown): boolean {
  return (
    isOptimizerError(error) &&
    (error.code === ErrorCodes.UPSTREAM_UNAVAILABLE || error.code === ErrorCodes.UPSTREAM_TIMEOUT)
  );
}

/** Runs `fn` until it succeeds, fails for good, or runs out of attempts. */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions & { retryable: (error: unknown) => boolean },
): Promise<{ value: T; attempts: number }> {
  const attempts = Math.max(1, options.attempts ?? 3);
  const base = options.baseDelayMs ?? 100;
  for (let attempt = 1; ; attempt++) {
    try {
      return { value: await fn(attempt), attempts: attempt };
    } catch (error) {
      if (attempt >= attempts || !options.retryable(error)) {
        if (isOptimizerError(error) && error.details) error.details.attempts = attempt;
        throw error;
      }
      const delay = base * 2 ** (attempt - 1) * (0.5 + Math.random());
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
