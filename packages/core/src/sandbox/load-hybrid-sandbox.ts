import type { ResolvedSandboxConfig } from "../config/schema.js";
import type { Sandbox, SandboxLimits } from "../contracts/sandbox.js";
import { createHybridSandbox, type HybridDecision, hybridPolicy } from "./hybrid-sandbox.js";
import { type LoadSandboxOptions, loadPluginSandbox } from "./load-sandbox.js";
import { createProcessSandbox } from "./process/process-sandbox.js";

/**
 * `mode: "hybrid"` from a config: docker and wasm when their packages are installed, and
 * the process sandbox always, as the last fallback. A missing package is a fallback, not an
 * error; the hybrid's decisions say which modes were passed over and why.
 */
export async function loadHybridSandbox(
  config: ResolvedSandboxConfig,
  defaults: SandboxLimits,
  options: LoadSandboxOptions & { onDecision?: (decision: HybridDecision) => void },
): Promise<Sandbox> {
  const sandboxes: Record<string, Sandbox> = {};
  for (const mode of ["docker", "wasm"]) {
    try {
      sandboxes[mode] = await loadPluginSandbox(mode, defaults);
    } catch {
      // Not installed or not creatable here: the hybrid routes around it.
    }
  }
  sandboxes.process = createProcessSandbox({ maxMemoryMb: config.maxMemoryMb, ...options.process });
  return createHybridSandbox({
    sandboxes,
    ...hybridPolicy(config.hybrid),
    ...(options.onDecision ? { onDecision: options.onDecision } : {}),
  });
}
