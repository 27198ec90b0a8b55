import type { ResolvedSandboxConfig } from "../config/schema.js";
import type { Sandbox, SandboxLimits } from "../contracts/sandbox.js";
import { ErrorCodes, OptimizerError } from "../errors.js";
import type { LoadSandboxOptions } from "./load-sandbox.js";

// Replaced when the hybrid sandbox lands (issue 5).
export async function loadHybridSandbox(
  _config: ResolvedSandboxConfig,
  _defaults: SandboxLimits,
  _options: LoadSandboxOptions,
): Promise<Sandbox> {
  throw new OptimizerError(ErrorCodes.SANDBOX_UNAVAILABLE, "Sandbox mode \"hybrid\" is not available yet.");
}
