import type { SandboxFactory } from "@mcp-optimizer/core";
import { createWasmSandbox } from "./wasm-sandbox.js";

/**
 * What core calls when `sandboxConfig.mode` is "wasm": the engine heap limit comes from the
 * config's defaults (`maxMemoryMb`); deadlines come with each job.
 */
export const createSandbox: SandboxFactory = ({ mode, defaults }) =>
  createWasmSandbox({ mode, maxMemoryMb: Math.min(defaults.maxMemoryMb, 2048) });
