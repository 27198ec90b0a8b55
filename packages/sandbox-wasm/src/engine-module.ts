import { readFileSync, statSync } from "node:fs";
import { ErrorCodes, OptimizerError } from "@mcp-optimizer/core";

/** The compiled engine, once per host process and module file (keyed by path, size and mtime). */
const compiled = new Map<string, WebAssembly.Module>();

/**
 * Compiles the engine module, or returns the one this process compiled already. Every guest
 * thread gets the same compiled module (V8 shares its code between threads), so a new guest
 * compiles nothing. Synchronous on purpose (~5 ms of CPU: V8 compiles a function when it
 * first runs): the sandbox's first guest thread starts inside its constructor, and so boots
 * while the host's event loop is busy with the rest of its start (core's tokenizer).
 */
export function loadEngineModule(wasmPath: string): WebAssembly.Module {
  let info: { size: number; mtimeMs: number } | undefined;
  try {
    info = statSync(wasmPath);
  } catch {
    info = undefined;
  }
  const key = `${wasmPath}:${info?.size}:${info?.mtimeMs}`;
  const known = compiled.get(key);
  if (known) return known;
  let bytes: Buffer;
  try {
    bytes = readFileSync(wasmPath);
  } catch (error) {
    throw new OptimizerError(
      ErrorCodes.SANDBOX_UNAVAILABLE,
      `The wasm engine ${wasmPath} cannot be read: ${(error as Error).message}`,
    );
  }
  let module: WebAssembly.Module;
  try {
    module = new WebAssembly.Module(bytes);
  } catch (error) {
    throw new OptimizerError(
      ErrorCodes.SANDBOX_UNAVAILABLE,
      `The wasm engine ${wasmPath} is not a valid module: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  compiled.set(key, module);
  return module;
}
