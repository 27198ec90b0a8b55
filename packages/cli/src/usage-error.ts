import { ErrorCodes, OptimizerError } from "@mcp-optimizer/core";

/** A bad command line: INVALID_INPUT, exit code 2, with a pointer to --help. */
export function usageError(message: string, command?: string): OptimizerError {
  const help = command ? `mcp-optimizer ${command} --help` : "mcp-optimizer --help";
  return new OptimizerError(ErrorCodes.INVALID_INPUT, `${message} (see \`${help}\`)`, {
    details: { usage: true },
  });
}

/** Parses a positive integer flag. */
export function intFlag(
  value: string | undefined,
  flag: string,
  command: string,
  range: { min?: number; max?: number } = {},
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  const min = range.min ?? 1;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw usageError(`--${flag} takes an integer from ${min} to ${max}; got "${value}"`, command);
  }
  return n;
}
