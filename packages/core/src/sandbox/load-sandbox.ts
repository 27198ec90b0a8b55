import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { ResolvedSandboxConfig } from "../config/schema.js";
import type { Sandbox, SandboxFactory, SandboxLimits } from "../contracts/sandbox.js";
import { ErrorCodes, OptimizerError } from "../errors.js";
import { createProcessSandbox, type ProcessSandboxOptions } from "./process/process-sandbox.js";

/** The package that provides each mode outside core. */
export const SANDBOX_PACKAGES: Readonly<Record<string, string>> = {
  wasm: "@mcp-optimizer/sandbox-wasm",
  docker: "@mcp-optimizer/sandbox-docker",
  gvisor: "@mcp-optimizer/sandbox-docker",
};

/**
 * Imports an optional plug-in by name: first as core sees it, then as the application in the
 * working directory sees it (pnpm does not hoist a peer's dependents next to core).
 */
export async function importPlugin<T>(name: string): Promise<T | undefined> {
  try {
    return (await import(name)) as T;
  } catch (error) {
    if (!isNotFound(error, name)) throw error;
  }
  try {
    const require = createRequire(join(process.cwd(), "package.json"));
    return (await import(pathToFileURL(require.resolve(name)).href)) as T;
  } catch (error) {
    if (!isNotFound(error, name)) throw error;
    return undefined;
  }
}

function isNotFound(error: unknown, name: string): boolean {
  const code = (error as { code?: unknown }).code;
  return (
    (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") &&
    String((error as Error).message).includes(name)
  );
}

export interface LoadSandboxOptions {
  /** Options for the built-in process sandbox. */
  process?: ProcessSandboxOptions;
  /** Whether a mode may run (its `sandbox.<mode>` feature flag). Default: every mode. */
  modeEnabled?: (mode: string) => boolean;
}

/** FEATURE_DISABLED for a mode its flag switched off. */
export function modeDisabled(mode: string): OptimizerError {
  return new OptimizerError(
    ErrorCodes.FEATURE_DISABLED,
    `Sandbox mode "${mode}" is switched off here (feature flag "sandbox.${mode}"); choose another sandbox.mode or turn the flag on.`,
    { details: { flag: `sandbox.${mode}`, mode } },
  );
}

/** Creates the sandbox a config's `mode` names; plug-in modes are imported on demand. */
export async function loadSandbox(
  config: ResolvedSandboxConfig,
  options: LoadSandboxOptions = {},
): Promise<Sandbox> {
  const defaults: SandboxLimits = {
    timeoutMs: config.maxExecutionTime,
    maxMemoryMb: config.maxMemoryMb,
    maxOutputBytes: 4 * 1024 * 1024,
    maxLogBytes: 64 * 1024,
  };
  const enabled = options.modeEnabled ?? (() => true);
  if (config.mode !== "hybrid" && !enabled(config.mode)) throw modeDisabled(config.mode);
  if (config.mode === "process")
    return createProcessSandbox({ maxMemoryMb: config.maxMemoryMb, ...options.process });
  if (config.mode === "hybrid") {
    const { loadHybridSandbox } = await import("./load-hybrid-sandbox.js");
    return loadHybridSandbox(config, defaults, options);
  }
  return loadPluginSandbox(config.mode, defaults);
}

export async function loadPluginSandbox(
  mode: string,
  defaults: SandboxLimits,
  packages: Readonly<Record<string, string>> = SANDBOX_PACKAGES,
): Promise<Sandbox> {
  const pkg = packages[mode];
  if (!pkg) throw new OptimizerError(ErrorCodes.INVALID_CONFIG, `Unknown sandbox mode "${mode}".`);
  const mod = await importPlugin<{ createSandbox?: SandboxFactory }>(pkg);
  if (!mod) {
    throw new OptimizerError(
      ErrorCodes.SANDBOX_UNAVAILABLE,
      `Sandbox mode "${mode}" needs the package ${pkg}, which is not installed. Install it next to @mcp-optimizer/core (pnpm add ${pkg}) or choose mode "process".`,
      { details: { mode, package: pkg } },
    );
  }
  if (typeof mod.createSandbox !== "function") {
    throw new OptimizerError(
      ErrorCodes.SANDBOX_UNAVAILABLE,
      `${pkg} does not export createSandbox(); is it a sandbox package?`,
    );
  }
  return mod.createSandbox({ mode, defaults });
}
