import { readFile, stat } from "node:fs/promises";
import { ErrorCodes, OptimizerError } from "@mcp-optimizer/core";

/** The compiled engine, once per host process and module file (keyed by path, size and mtime). */
const compiled = new Map<string, Promise<WebAssembly.Module>>();

/**
 * Compiles the engine module, or returns the one this process compiled already. Every guest
 * thread gets the same compiled module (V8 shares its code between threads), so a new guest
 * compiles nothing.
 */
export async function loadEngineModule(wasmPath: string): Promise<WebAssembly.Module> {
  const info = await stat(wasmPath).catch(() => undefined);
  const key = `${wasmPath}:${info?.size}:${info?.mtimeMs}`;
  let module = compiled.get(key);
  if (!module) {
    module = readFile(wasmPath).then(
      (bytes) => WebAssembly.compile(bytes),
      (error: Error) => {
        throw new OptimizerError(
          ErrorCodes.SANDBOX_UNAVAILABLE,
          `The wasm engine ${wasmPath} cannot be read: ${error.message}`,
        );
      },
    );
    compiled.set(key, module);
    module.catch(() => compiled.delete(key));
  }
  return module.catch((error: unknown) => {
    throw error instanceof OptimizerError
      ? error
      : new OptimizerError(
          ErrorCodes.SANDBOX_UNAVAILABLE,
          `The wasm engine ${wasmPath} is not a valid module: ${error instanceof Error ? error.message : String(error)}`,
        );
  });
}
