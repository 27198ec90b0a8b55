import type { SandboxFactory } from "@mcp-optimizer/core";
import { createDockerSandbox } from "./docker-sandbox.js";

/**
 * What core calls when `sandboxConfig.mode` is "docker" or "gvisor" ("gvisor" = the runsc
 * runtime). The engine comes from DOCKER_HOST; the heap limit from the config's defaults.
 */
export const createSandbox: SandboxFactory = ({ mode, defaults }) =>
  createDockerSandbox({ mode, maxMemoryMb: defaults.maxMemoryMb });
