import type { SandboxHost, SandboxJob, SandboxLimits } from "@mcp-optimizer/core";
import Docker from "dockerode";
import { expect } from "vitest";
import { CONTAINER_LABEL, INSTANCE_LABEL, listSandboxContainers } from "../src/index.js";

export const docker = new Docker();

const START_HINT =
  "Start one as root with `dockerd --iptables=false --ip6tables=false --bridge=none &` (what .ci/setup/30-docker.sh does: `bash -c 'apt_install(){ apt-get install -y \"$@\"; }; SUDO=; source .ci/setup/30-docker.sh'`), or point DOCKER_HOST at a running engine.";

/** Fails (never skips) with how to start an engine when none answers. */
export async function requireDocker(): Promise<void> {
  try {
    await docker.ping();
  } catch (error) {
    const where = process.env.DOCKER_HOST ?? "unix:///var/run/docker.sock";
    throw new Error(
      `These tests need a Docker engine, and none answers at ${where} (${error instanceof Error ? error.message : String(error)}). ${START_HINT}`,
    );
  }
}

/** The runtimes the engine has registered. */
export async function engineRuntimes(): Promise<string[]> {
  const info = await docker.info();
  return Object.keys(info.Runtimes ?? {});
}

/** Containers of one sandbox instance, or of the package as a whole. */
export async function containersOf(instance?: string): Promise<Docker.ContainerInfo[]> {
  const label = instance ? [`${INSTANCE_LABEL}=${instance}`] : [CONTAINER_LABEL];
  return docker.listContainers({ all: true, filters: { label } });
}

/** Waits until the instance has `count` containers (removals run in the background). */
export async function waitForContainers(
  instance: string,
  count: number,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const n = (await containersOf(instance)).length;
    if (n === count) return;
    if (Date.now() > deadline)
      throw new Error(`instance ${instance} has ${n} containers, expected ${count}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The afterAll check of every file: no container with the package's label is left. */
export async function expectNoContainersLeft(): Promise<void> {
  const left = await listSandboxContainers();
  expect(left, `containers left behind: ${JSON.stringify(left)}`).toEqual([]);
}

export const limits: SandboxLimits = {
  timeoutMs: 20_000,
  maxMemoryMb: 128,
  maxOutputBytes: 1024 * 1024,
  maxLogBytes: 16 * 1024,
};

let n = 0;
export function job(code: string, extra: Partial<SandboxJob> = {}): SandboxJob {
  return { id: `docker-test-${++n}`, code, servers: [], state: {}, limits, ...extra };
}

export const nullHost: SandboxHost = { call: async () => null };
