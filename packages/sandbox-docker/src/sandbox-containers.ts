import { hostname } from "node:os";
import type Docker from "dockerode";
import { removeContainer } from "./container-runner.js";
import {
  type DockerEndpoint,
  describeEndpoint,
  dockerClient,
  engineUnavailable,
} from "./docker-client.js";
import { CONTAINER_LABEL, INSTANCE_LABEL, OWNER_HOST_LABEL, OWNER_PID_LABEL } from "./labels.js";

/** A container started by this package, as the engine lists it. */
export interface SandboxContainer {
  id: string;
  /** The mode of the sandbox that started it ("docker", "gvisor", ...). */
  mode: string;
  /** The DockerSandbox instance that started it. */
  instance: string;
  ownerHost: string;
  ownerPid: number;
  /** The engine's state: "running", "exited", "removing", ... */
  state: string;
}

export interface SandboxContainersOptions {
  /** The Docker engine. Default: `DOCKER_HOST`, else the local socket. */
  docker?: string | DockerEndpoint;
}

/** Every container this package started on the engine (they all carry its label). */
export async function listSandboxContainers(
  options: SandboxContainersOptions = {},
): Promise<SandboxContainer[]> {
  return listWith(dockerClient(options.docker), describeEndpoint(options.docker));
}

/**
 * Removes containers this package started: those of one sandbox instance, those whose owner
 * process on this host is gone (`orphansOnly`), or all. Returns how many were removed.
 */
export async function removeSandboxContainers(
  options: SandboxContainersOptions & { instance?: string; orphansOnly?: boolean } = {},
): Promise<number> {
  const docker = dockerClient(options.docker);
  return removeWith(docker, describeEndpoint(options.docker), (c) => {
    if (options.instance !== undefined && c.instance !== options.instance) return false;
    return !options.orphansOnly || isOrphan(c);
  });
}

export async function listWith(docker: Docker, endpoint: string): Promise<SandboxContainer[]> {
  let list: Docker.ContainerInfo[];
  try {
    list = await docker.listContainers({ all: true, filters: { label: [CONTAINER_LABEL] } });
  } catch (error) {
    throw engineUnavailable(error, endpoint, "listing sandbox containers");
  }
  return list.map((c) => ({
    id: c.Id,
    mode: c.Labels?.[CONTAINER_LABEL] ?? "",
    instance: c.Labels?.[INSTANCE_LABEL] ?? "",
    ownerHost: c.Labels?.[OWNER_HOST_LABEL] ?? "",
    ownerPid: Number(c.Labels?.[OWNER_PID_LABEL] ?? 0),
    state: c.State,
  }));
}

export async function removeWith(
  docker: Docker,
  endpoint: string,
  which: (c: SandboxContainer) => boolean,
): Promise<number> {
  const doomed = (await listWith(docker, endpoint)).filter(which);
  await Promise.all(doomed.map((c) => removeContainer(docker.getContainer(c.id))));
  return doomed.length;
}

/** Started from this host by a process that no longer exists. */
export function isOrphan(c: SandboxContainer): boolean {
  if (c.ownerHost !== hostname() || !Number.isInteger(c.ownerPid) || c.ownerPid <= 0) return false;
  if (c.ownerPid === process.pid) return false;
  try {
    process.kill(c.ownerPid, 0);
    return false;
  } catch (error) {
    return (error as { code?: unknown }).code === "ESRCH";
  }
}
