import { ErrorCodes, OptimizerError } from "@mcp-optimizer/core";
import type { DockerEndpoint } from "./docker-client.js";
import { defaultRunnerImage, RUNNER_NODE_PATH, RUNNER_USER } from "./runner-image.js";

export interface DockerSandboxOptions {
  /** The mode name reported in capabilities and outcomes. Default "docker"; "gvisor" also sets `runtime: "runsc"`. */
  mode?: string;
  /** The Docker engine: a URL or connection options. Default: `DOCKER_HOST` (with `DOCKER_TLS_VERIFY`, `DOCKER_CERT_PATH`), else the local socket. */
  docker?: string | DockerEndpoint;
  /** The image runners start from; it needs Node at `nodePath`. Default: `defaultRunnerImage()`, built from this host's Node. */
  image?: string;
  /** Build the image with `buildRunnerImage()` when the engine lacks it. Default: true for the default image, false for a named one. */
  buildImage?: boolean;
  /** Node inside the image. Default "/usr/local/bin/node". */
  nodePath?: string;
  /** OCI runtime registered in the engine ("runsc", "crun", "kata", ...). Default: the engine's default (runc); "runsc" in mode "gvisor". */
  runtime?: string;
  /** V8 heap ceiling of each runner in MiB (a job's `limits.maxMemoryMb` overrides it per session). Default 128. */
  maxMemoryMb?: number;
  /** Memory limit of each container in MiB, swap included (memory-swap = memory). Default 2 x heap + 64. */
  memoryLimitMb?: number;
  /** CPU quota of each container, in CPUs (fractions allowed). Default 1. */
  cpus?: number;
  /** Most processes and threads a container may have (fork bombs stop here). Default 64. */
  pidsLimit?: number;
  /** Docker network mode. Default "none": no interface but loopback, no egress. */
  network?: string;
  /** Mount the image's root filesystem read-only. Default true. */
  readOnlyRootfs?: boolean;
  /** Where the writable tmpfs workspace is mounted; also the working directory. Default "/tmp". */
  workspacePath?: string;
  /** Size of the tmpfs workspace in MiB (counts against the memory limit). Default 64. */
  workspaceMb?: number;
  /** Allow executing files from the workspace (mounted noexec otherwise). Default false. */
  workspaceExec?: boolean;
  /** uid:gid the runner runs as. Default "65534:65534" (nobody). */
  user?: string;
  /** Linux capabilities to drop. Default ["ALL"]. */
  capDrop?: string[];
  /** Linux capabilities to add back. Default []. */
  capAdd?: string[];
  /** Set no-new-privileges (setuid binaries cannot gain privileges). Default true. */
  noNewPrivileges?: boolean;
  /** More `--security-opt` values (a seccomp or AppArmor profile, ...). Default []. */
  securityOpt?: string[];
  /**
   * Give programs Node's APIs (`process`, `require`, `Buffer`, ...): files in the workspace,
   * child processes, native code. A program can then reach the runner itself, so each
   * execution gets a container of its own (from the warm pool). Default false: programs run
   * in a realm with the language's built-ins and the bridge's globals only.
   */
  nodeApis?: boolean;
  /** Containers kept started and idle so a new session does not wait for one; filled from creation on. Default 1. */
  poolSize?: number;
  /** A session's container idle this long is removed; the session gets a fresh one on its next execution. Default 300000 (5 min). */
  idleTimeoutMs?: number;
  /** How long a container may take from create to the runner's ready frame, in ms. Default 30000. */
  startTimeoutMs?: number;
  /** stderr bytes one execution may write around the bridge before it is stopped. Default 1048576 (1 MiB). */
  maxStderrBytes?: number;
  /** Extra labels on every container. Default {}. */
  labels?: Record<string, string>;
  /** On first use, remove containers that a dead process on this host left behind. Default true. */
  reapOrphans?: boolean;
}

/** Every option with its effective value. */
export interface DockerSandboxSettings {
  mode: string;
  image: string;
  buildImage: boolean;
  nodePath: string;
  runtime: string | undefined;
  maxMemoryMb: number;
  memoryLimitMb: number | undefined;
  cpus: number;
  pidsLimit: number;
  network: string;
  readOnlyRootfs: boolean;
  workspacePath: string;
  workspaceMb: number;
  workspaceExec: boolean;
  user: string;
  capDrop: string[];
  capAdd: string[];
  noNewPrivileges: boolean;
  securityOpt: string[];
  nodeApis: boolean;
  poolSize: number;
  idleTimeoutMs: number;
  startTimeoutMs: number;
  maxStderrBytes: number;
  labels: Record<string, string>;
  reapOrphans: boolean;
}

export function resolveOptions(options: DockerSandboxOptions): DockerSandboxSettings {
  const mode = options.mode ?? "docker";
  const settings: DockerSandboxSettings = {
    mode,
    image: options.image ?? defaultRunnerImage(),
    buildImage: options.buildImage ?? options.image === undefined,
    nodePath: options.nodePath ?? RUNNER_NODE_PATH,
    runtime: options.runtime ?? (mode === "gvisor" ? "runsc" : undefined),
    maxMemoryMb: options.maxMemoryMb ?? 128,
    memoryLimitMb: options.memoryLimitMb,
    cpus: options.cpus ?? 1,
    pidsLimit: options.pidsLimit ?? 64,
    network: options.network ?? "none",
    readOnlyRootfs: options.readOnlyRootfs ?? true,
    workspacePath: options.workspacePath ?? "/tmp",
    workspaceMb: options.workspaceMb ?? 64,
    workspaceExec: options.workspaceExec ?? false,
    user: options.user ?? RUNNER_USER,
    capDrop: options.capDrop ?? ["ALL"],
    capAdd: options.capAdd ?? [],
    noNewPrivileges: options.noNewPrivileges ?? true,
    securityOpt: options.securityOpt ?? [],
    nodeApis: options.nodeApis ?? false,
    poolSize: options.poolSize ?? 1,
    idleTimeoutMs: options.idleTimeoutMs ?? 300_000,
    startTimeoutMs: options.startTimeoutMs ?? 30_000,
    maxStderrBytes: options.maxStderrBytes ?? 1024 * 1024,
    labels: options.labels ?? {},
    reapOrphans: options.reapOrphans ?? true,
  };
  const integer = (name: keyof DockerSandboxSettings, min: number) => {
    const v = settings[name];
    if (v !== undefined && (typeof v !== "number" || !Number.isInteger(v) || v < min)) {
      throw new OptimizerError(
        ErrorCodes.INVALID_CONFIG,
        `${name} must be an integer >= ${min}; got ${String(v)}.`,
        {
          details: { path: name },
        },
      );
    }
  };
  integer("maxMemoryMb", 16);
  integer("memoryLimitMb", 32);
  integer("pidsLimit", 8);
  integer("workspaceMb", 1);
  integer("poolSize", 0);
  integer("idleTimeoutMs", 1);
  integer("startTimeoutMs", 1);
  integer("maxStderrBytes", 0);
  if (!(settings.cpus > 0)) {
    throw new OptimizerError(
      ErrorCodes.INVALID_CONFIG,
      `cpus must be a number > 0; got ${settings.cpus}.`,
      {
        details: { path: "cpus" },
      },
    );
  }
  if (!settings.workspacePath.startsWith("/")) {
    throw new OptimizerError(
      ErrorCodes.INVALID_CONFIG,
      `workspacePath must be absolute; got ${settings.workspacePath}.`,
      {
        details: { path: "workspacePath" },
      },
    );
  }
  return settings;
}

/** The container memory limit for a runner whose heap is `heapMb`. */
export function memoryLimitFor(settings: DockerSandboxSettings, heapMb: number): number {
  return settings.memoryLimitMb ?? heapMb * 2 + 64;
}
