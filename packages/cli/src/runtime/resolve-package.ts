import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { ErrorCodes, OptimizerError } from "@mcp-optimizer/core";

const require = createRequire(import.meta.url);

/** The directory of an installed package as the CLI sees it (works without an exported package.json). */
export function packageDirectory(pkg: string): string | undefined {
  for (const base of require.resolve.paths(pkg) ?? []) {
    const dir = join(base, pkg);
    if (existsSync(join(dir, "package.json"))) return dir;
  }
  return undefined;
}

/** How to start a package's bin with this Node: `{ command: node, args: [bin] }`. */
export function packageBinCommand(pkg: string, bin?: string): { command: string; args: string[] } {
  const dir = packageDirectory(pkg);
  if (!dir) {
    throw new OptimizerError(
      ErrorCodes.UPSTREAM_UNAVAILABLE,
      `The MCP server package ${pkg} is not installed next to @mcp-optimizer/cli (pnpm add ${pkg}).`,
      { details: { package: pkg } },
    );
  }
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
    bin?: string | Record<string, string>;
  };
  const bins = typeof manifest.bin === "string" ? { [pkg]: manifest.bin } : (manifest.bin ?? {});
  const path = bin ? bins[bin] : Object.values(bins)[0];
  if (!path) {
    throw new OptimizerError(ErrorCodes.UPSTREAM_UNAVAILABLE, `${pkg} has no bin ${bin ?? ""}.`);
  }
  return { command: process.execPath, args: [join(dir, path)] };
}

/** The version of an installed package, or undefined. */
export function packageVersion(pkg: string): string | undefined {
  const dir = packageDirectory(pkg);
  if (!dir) return undefined;
  return (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version?: string })
    .version;
}

/** Imports an optional package; undefined with the reason when it is missing or fails to load. */
export async function importOptional<T>(
  pkg: string,
): Promise<{ module: T; error?: undefined } | { module?: undefined; error: string }> {
  try {
    return { module: (await import(pkg)) as T };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (
      (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") &&
      String((error as Error).message).includes(pkg) &&
      packageDirectory(pkg) === undefined
    ) {
      return { error: `${pkg} is not installed (pnpm add ${pkg})` };
    }
    return { error: `${pkg} failed to load: ${(error as Error).message}` };
  }
}
