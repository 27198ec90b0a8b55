import type { ResolvedSandboxConfig } from "../config/schema.js";
import type { Sandbox, SandboxLimits } from "../contracts/sandbox.js";
import { createHybridSandbox, type HybridDecision, hybridPolicy } from "./hybrid-sandbox.js";
import { type LoadSandboxOptions, loadPluginSandbox, modeDisabled } from "./load-sandbox.js";
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
  const enabled = options.modeEnabled ?? (() => true);
  for (const mode of ["docker", "wasm"]) {
    // A mode its flag switched off is left out, like one that is not installed.
    if (!enabled(mode)) continue;
    try {
      sandboxes[mode] = await loadPluginSandbox(mode, defaults);
    } catch {
      // Not installed or not creatable here: the hybrid routes around it.
    }
  }
  if (enabled("process"))
    sandboxes.process = createProcessSandbox({
      maxMemoryMb: config.maxMemoryMb,
      ...options.process,
    });
  if (Object.keys(sandboxes).length === 0) throw modeDisabled("process");
  return createHybridSandbox({
    sandboxes,
    ...hybridPolicy(config.hybrid),
    ...(options.onDecision ? { onDecision: options.onDecision } : {}),
  });
}
