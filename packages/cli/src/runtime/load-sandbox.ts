import {
  createHybridSandbox,
  createProcessSandbox,
  ErrorCodes,
  hybridPolicy,
  modeDisabled,
  OptimizerError,
  type ResolvedSandboxConfig,
  type Sandbox,
  type SandboxCapabilities,
  type SandboxFactory,
  type SandboxLimits,
  type SandboxOpenOptions,
  type SandboxSession,
} from "@mcp-optimizer/core";
import { importOptional } from "./resolve-package.js";

/** The package that provides each plug-in mode. */
export const SANDBOX_PACKAGES: Readonly<Record<string, string>> = {
  wasm: "@mcp-optimizer/sandbox-wasm",
  docker: "@mcp-optimizer/sandbox-docker",
  gvisor: "@mcp-optimizer/sandbox-docker",
};

export interface LoadedSandbox {
  sandbox: Sandbox;
  /** Fallbacks taken, for stderr. */
  notes: string[];
}

function limitsOf(config: ResolvedSandboxConfig): SandboxLimits {
  return {
    timeoutMs: config.maxExecutionTime,
    maxMemoryMb: config.maxMemoryMb,
    maxOutputBytes: 4 * 1024 * 1024,
    maxLogBytes: 64 * 1024,
  };
}

/** Creates a plug-in mode's sandbox, imported from the CLI's own dependencies. */
export async function loadPluginMode(
  mode: string,
  config: ResolvedSandboxConfig,
): Promise<Sandbox> {
  const pkg = SANDBOX_PACKAGES[mode];
  if (!pkg) throw new OptimizerError(ErrorCodes.INVALID_CONFIG, `Unknown sandbox mode "${mode}".`);
  const loaded = await importOptional<{ createSandbox?: SandboxFactory }>(pkg);
  if (!loaded.module) {
    throw new OptimizerError(
      ErrorCodes.SANDBOX_UNAVAILABLE,
      `Sandbox mode "${mode}": ${loaded.error.replace(/\.+$/, "")}.`,
      {
        details: { mode, package: pkg },
      },
    );
  }
  if (typeof loaded.module.createSandbox !== "function") {
    throw new OptimizerError(
      ErrorCodes.SANDBOX_UNAVAILABLE,
      `${pkg} does not export createSandbox().`,
    );
  }
  const sandbox = await loaded.module.createSandbox({ mode, defaults: limitsOf(config) });
  const caps = await sandbox.capabilities();
  if (!caps.available) {
    await sandbox.close().catch(() => {});
    throw new OptimizerError(
      ErrorCodes.SANDBOX_UNAVAILABLE,
      `Sandbox mode "${mode}" is not available here: ${(caps.reason ?? "no reason given").replace(/\.+$/, "")}.`,
      { details: { mode } },
    );
  }
  return sandbox;
}

/**
 * The sandbox a config names. "wasm" (the CLI's default) falls back to "process" when the
 * wasm package is missing or cannot run here, and says so; docker and gvisor are explicit
 * choices and fail instead; hybrid routes over whatever is available.
 */
export async function loadCliSandbox(
  config: ResolvedSandboxConfig,
  options: { modeEnabled?: (mode: string) => boolean } = {},
): Promise<LoadedSandbox> {
  const enabled = options.modeEnabled ?? (() => true);
  const processSandbox = () => createProcessSandbox({ maxMemoryMb: config.maxMemoryMb });
  if (config.mode !== "hybrid" && !enabled(config.mode)) throw modeDisabled(config.mode);
  if (config.mode === "process") return { sandbox: processSandbox(), notes: [] };
  if (config.mode === "hybrid") {
    const sandboxes: Record<string, Sandbox> = {};
    const notes: string[] = [];
    for (const mode of ["docker", "wasm"]) {
      if (!enabled(mode)) {
        notes.push(`hybrid: ${mode} left out: its feature flag "sandbox.${mode}" is off`);
        continue;
      }
      try {
        sandboxes[mode] = await loadPluginMode(mode, config);
      } catch (error) {
        notes.push(`hybrid: ${mode} left out: ${(error as Error).message}`);
      }
    }
    if (enabled("process")) sandboxes.process = processSandbox();
    else notes.push('hybrid: process left out: its feature flag "sandbox.process" is off');
    if (Object.keys(sandboxes).length === 0) throw modeDisabled("process");
    return { sandbox: createHybridSandbox({ sandboxes, ...hybridPolicy(config.hybrid) }), notes };
  }
  if (config.mode === "wasm") {
    try {
      return { sandbox: await loadPluginMode("wasm", config), notes: [] };
    } catch (error) {
      const reason = (error as Error).message;
      if (!enabled("process")) throw error;
      return {
        sandbox: new FallbackSandbox(processSandbox(), "wasm", reason),
        notes: [`wasm sandbox unavailable, falling back to the process sandbox: ${reason}`],
      };
    }
  }
  return { sandbox: await loadPluginMode(config.mode, config), notes: [] };
}

/** The process sandbox standing in for a mode that could not load; capabilities say so. */
export class FallbackSandbox implements Sandbox {
  readonly mode: string;

  constructor(
    private readonly inner: Sandbox,
    /** The mode that was asked for. */
    readonly requested: string,
    /** Why it could not be used. */
    readonly reason: string,
  ) {
    this.mode = inner.mode;
  }

  async capabilities(): Promise<SandboxCapabilities> {
    const caps = await this.inner.capabilities();
    return {
      ...caps,
      reason: `fallback: ${this.requested} unavailable (${this.reason})${caps.reason ? `; ${caps.reason}` : ""}`,
      details: { ...caps.details, requestedMode: this.requested, fallbackReason: this.reason },
    };
  }

  open(options?: SandboxOpenOptions): Promise<SandboxSession> {
    return this.inner.open(options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
