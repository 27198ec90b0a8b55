export { createSandbox } from "./create-sandbox.js";
export type { DockerEndpoint } from "./docker-client.js";
export { createDockerSandbox, DockerSandbox } from "./docker-sandbox.js";
export type { DockerSandboxOptions, DockerSandboxSettings } from "./docker-sandbox-options.js";
export type { DockerSandboxSession } from "./docker-sandbox-session.js";
export type { EngineInfo } from "./engine-info.js";
export { CONTAINER_LABEL, IMAGE_LABEL, INSTANCE_LABEL } from "./labels.js";
export {
  type BuildRunnerImageOptions,
  buildRunnerImage,
  defaultRunnerImage,
  type RunnerImage,
} from "./runner-image.js";
export {
  listSandboxContainers,
  removeSandboxContainers,
  type SandboxContainer,
  type SandboxContainersOptions,
} from "./sandbox-containers.js";
