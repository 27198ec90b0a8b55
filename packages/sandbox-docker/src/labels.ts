/** Every container this package starts carries this label (value: the sandbox's mode). */
export const CONTAINER_LABEL = "org.mcp-optimizer.sandbox";
/** The DockerSandbox instance that started the container. */
export const INSTANCE_LABEL = "org.mcp-optimizer.instance";
/** The host name and process id of the owner, to find containers a crashed host left. */
export const OWNER_HOST_LABEL = "org.mcp-optimizer.owner-host";
export const OWNER_PID_LABEL = "org.mcp-optimizer.owner-pid";
/** Runner images built by `buildRunnerImage` carry this label (value: the Node version). */
export const IMAGE_LABEL = "org.mcp-optimizer.runner-node";
