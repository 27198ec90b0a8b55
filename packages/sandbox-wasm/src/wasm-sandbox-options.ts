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
  /** Guests kept started and idle so a new session does not pay the cold start. Default 2. */
  poolSize?: number;
  /** Replace the engine process after it has started this many guests (Wasmer keeps memory of closed ones). Default 64. */
  recycleAfterGuests?: number;
  /** Resident-memory ceiling of one engine process in MiB; over it the process is killed. Default 1024 + 4 x maxMemoryMb. */
  maxEngineRssMb?: number;
  /** V8 heap ceiling of the engine process in MiB (`--max-old-space-size`). Default 256. */
  engineHeapMb?: number;
  /** How often the engine process's resident memory is read, in ms. Default 500. */
  memoryCheckIntervalMs?: number;
  /** How long a guest that overran its deadline gets to stop by itself before it is killed, in ms. Default 250. */
  killGraceMs?: number;
  /** How long the engine process or a guest may take to start, in ms. Default 30000. */
  startTimeoutMs?: number;
  /** A session's guest idle this long is stopped; the session gets a fresh one (fresh globals) on its next execution. Default 300000 (5 min). */
  idleTimeoutMs?: number;
}

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
    recycleAfterGuests: options.recycleAfterGuests ?? 64,
    maxEngineRssMb: options.maxEngineRssMb ?? 1024 + 4 * maxMemoryMb,
    engineHeapMb: options.engineHeapMb ?? 256,
    memoryCheckIntervalMs: options.memoryCheckIntervalMs ?? 500,
    killGraceMs: options.killGraceMs ?? 250,
    startTimeoutMs: options.startTimeoutMs ?? 30_000,
    idleTimeoutMs: options.idleTimeoutMs ?? 300_000,
  };
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
  positiveInt("recycleAfterGuests", 1);
  positiveInt("maxEngineRssMb", 64);
  positiveInt("engineHeapMb", 32);
  positiveInt("memoryCheckIntervalMs", 10);
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
