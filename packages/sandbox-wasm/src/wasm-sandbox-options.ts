import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ErrorCodes, OptimizerError } from "@mcp-optimizer/core";

export interface WasmSandboxOptions {
  /** The mode name reported in capabilities and outcomes. Default "wasm". */
  mode?: string;
  /** The engine module (QuickJS runner for wasm32-wasi). Default: this package's engine/quickjs-runner.wasm. */
  wasmPath?: string;
  /** JavaScript heap limit of each guest in MiB (a job's `limits.maxMemoryMb` lowers it per run). Default 128. */
  maxMemoryMb?: number;
  /** Fresh guests kept started and ready, so an execution never waits for one to start. Default 2. */
  poolSize?: number;
  /** How long a guest that overran its deadline gets to stop by itself before its thread is terminated, in ms. Default 250. */
  killGraceMs?: number;
  /** How long a guest may take to start, in ms. Default 30000. */
  startTimeoutMs?: number;
  /** A session without work for this long gives its guest back; its next execution takes a fresh one from the pool. Default 2000. */
  idleTimeoutMs?: number;
}

/** Options of earlier versions that no longer exist (there is no engine process any more). */
const REMOVED_OPTIONS: Record<string, string> = {
  recycleAfterGuests:
    "guests run on worker threads of the host and free their memory when they end",
  maxEngineRssMb: "there is no engine process; each guest's heap is limited by maxMemoryMb",
  engineHeapMb: "there is no engine process",
  memoryCheckIntervalMs: "there is no engine process",
};

/** Every option with its effective value. */
export type WasmSandboxSettings = Required<WasmSandboxOptions>;

/** Where the build puts the engine. */
export function defaultWasmPath(): string {
  return fileURLToPath(new URL("../engine/quickjs-runner.wasm", import.meta.url));
}

export function resolveSettings(options: WasmSandboxOptions): WasmSandboxSettings {
  const maxMemoryMb = options.maxMemoryMb ?? 128;
  const settings: WasmSandboxSettings = {
    mode: options.mode ?? "wasm",
    wasmPath: options.wasmPath ?? defaultWasmPath(),
    maxMemoryMb,
    poolSize: options.poolSize ?? 2,
    killGraceMs: options.killGraceMs ?? 250,
    startTimeoutMs: options.startTimeoutMs ?? 30_000,
    idleTimeoutMs: options.idleTimeoutMs ?? 2_000,
  };
  for (const [name, why] of Object.entries(REMOVED_OPTIONS)) {
    if (name in options) {
      throw new OptimizerError(
        ErrorCodes.INVALID_CONFIG,
        `The wasm sandbox option ${name} no longer exists (${why}); remove it.`,
      );
    }
  }
  const positiveInt = (name: keyof WasmSandboxSettings, min: number) => {
    const v = settings[name] as number;
    if (!Number.isInteger(v) || v < min) {
      throw new OptimizerError(
        ErrorCodes.INVALID_CONFIG,
        `${name} must be an integer >= ${min}; got ${String(v)}.`,
      );
    }
  };
  positiveInt("maxMemoryMb", 8);
  positiveInt("poolSize", 0);
  positiveInt("killGraceMs", 1);
  positiveInt("startTimeoutMs", 100);
  positiveInt("idleTimeoutMs", 1);
  if (settings.maxMemoryMb > 2048) {
    throw new OptimizerError(
      ErrorCodes.INVALID_CONFIG,
      `maxMemoryMb must be at most 2048 (the engine's linear memory ceiling); got ${settings.maxMemoryMb}.`,
    );
  }
  return settings;
}

/** Throws SANDBOX_UNAVAILABLE with a fix when the engine was never built. */
export function assertEngineBuilt(wasmPath: string): void {
  if (!existsSync(wasmPath)) {
    throw new OptimizerError(
      ErrorCodes.SANDBOX_UNAVAILABLE,
      `The wasm engine ${wasmPath} is missing. Build it with \`pnpm --filter @mcp-optimizer/sandbox-wasm build\` (needs clang, lld and wasi-libc), or choose mode "process".`,
      { details: { wasmPath } },
    );
  }
}
