import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import {
  ErrorCodes,
  nodeGuestProgram,
  OptimizerError,
  type Sandbox,
  type SandboxCapabilities,
  type SandboxOpenOptions,
  type SandboxPoolStats,
  type SandboxSession,
  toOptimizerError,
} from "@mcp-optimizer/core";
import type Docker from "dockerode";
import { containerConfig } from "./container-config.js";
import { ContainerRunner } from "./container-runner.js";
import { describeEndpoint, dockerClient } from "./docker-client.js";
import {
  type DockerSandboxOptions,
  type DockerSandboxSettings,
  memoryLimitFor,
  resolveOptions,
} from "./docker-sandbox-options.js";
import { DockerSandboxSession } from "./docker-sandbox-session.js";
import { checkRuntime, type EngineInfo, engineInfo } from "./engine-info.js";
import { CONTAINER_LABEL, INSTANCE_LABEL, OWNER_HOST_LABEL, OWNER_PID_LABEL } from "./labels.js";
import { buildRunnerImage, inspectImage } from "./runner-image.js";
import { isOrphan, removeWith } from "./sandbox-containers.js";
import { WarmPool } from "./warm-pool.js";

/** In-process builds under way, so that sandboxes sharing an engine build an image once. */
const builds = new Map<string, Promise<unknown>>();

/**
 * Hardened containers as the sandbox: one long-lived container per session running Node
 * with core's guest program, spoken to over the container's attached stdin/stdout. No
 * network, read-only root, a small tmpfs workspace, no capabilities, no new privileges, a
 * non-root user, pids/memory/CPU limits, and the wall-clock limit enforced from the host.
 * `runtime: "runsc"` (mode "gvisor") puts gVisor's user-space kernel underneath.
 */
export class DockerSandbox implements Sandbox {
  readonly mode: string;
  /** Every option with its effective value. */
  readonly settings: DockerSandboxSettings;
  /** This instance's id, the value of its containers' instance label. */
  readonly instance = randomUUID();
  private readonly docker: Docker;
  private readonly endpoint: string;
  private readonly program: string;
  private readonly pool: WarmPool;
  private readonly sessions = new Set<DockerSandboxSession>();
  private readonly runners = new Set<ContainerRunner>();
  private readonly removals = new Set<Promise<void>>();
  private preparing: Promise<EngineInfo> | undefined;
  private closed = false;

  constructor(private readonly options: DockerSandboxOptions = {}) {
    this.settings = resolveOptions(options);
    this.mode = this.settings.mode;
    this.program = nodeGuestProgram({ nodeApis: this.settings.nodeApis });
    this.docker = dockerClient(options.docker);
    this.endpoint = describeEndpoint(options.docker);
    this.pool = new WarmPool(this.settings.poolSize, () =>
      this.startRunner(this.settings.maxMemoryMb),
    );
    // Start the pool now, so that the first execution after start takes a ready container.
    // An engine that cannot be used now is reported by open() and capabilities().
    if (this.settings.poolSize > 0) {
      this.prepare().then(
        () => this.pool.refill(),
        () => {},
      );
    }
  }

  /** Warm containers and those serving sessions, for core's runner gauge. */
  poolStats(): SandboxPoolStats[] {
    let active = 0;
    for (const session of this.sessions) if (session.hasRunner) active++;
    return [{ mode: this.mode, idle: this.pool.idleCount, active }];
  }

  async capabilities(): Promise<SandboxCapabilities> {
    const s = this.settings;
    let info: EngineInfo | undefined;
    let reason: string | undefined;
    try {
      info = await this.prepare();
    } catch (error) {
      reason = toOptimizerError(error).message;
    }
    if (!reason && s.network !== "none")
      reason = `network mode "${s.network}": the guest can reach that network`;
    if (!reason && this.closed) reason = "the sandbox is closed";
    return {
      mode: this.mode,
      available: info !== undefined && !this.closed,
      ...(reason ? { reason } : {}),
      isolation: (s.runtime ?? info?.defaultRuntime) === "runsc" ? "kernel" : "container",
      details: {
        engine: {
          endpoint: this.endpoint,
          ...(info ?? {}),
        },
        runtime: s.runtime ?? info?.defaultRuntime ?? "engine default",
        image: s.image,
        nodePath: s.nodePath,
        network: s.network,
        readOnlyRootfs: s.readOnlyRootfs,
        workspace: { path: s.workspacePath, sizeMb: s.workspaceMb, exec: s.workspaceExec },
        user: s.user,
        capDrop: s.capDrop,
        capAdd: s.capAdd,
        noNewPrivileges: s.noNewPrivileges,
        securityOpt: s.securityOpt,
        nodeApis: s.nodeApis,
        pidsLimit: s.pidsLimit,
        heapLimitMb: s.maxMemoryMb,
        memoryLimitMb: memoryLimitFor(s, s.maxMemoryMb),
        memorySwapMb: memoryLimitFor(s, s.maxMemoryMb),
        cpus: s.cpus,
        wallClockLimit:
          "per execution (limits.timeoutMs), enforced by the host: the container is removed",
        maxStderrBytes: s.maxStderrBytes,
        poolSize: s.poolSize,
        idleRunners: this.pool.idleCount,
        activeSessions: this.sessions.size,
        idleTimeoutMs: s.idleTimeoutMs,
        boundary: s.nodeApis
          ? "a container per execution (programs have Node's APIs)"
          : "a container per session; programs in a realm of their own",
      },
    };
  }

  async open(options: SandboxOpenOptions = {}): Promise<SandboxSession> {
    if (this.closed)
      throw new OptimizerError(ErrorCodes.SANDBOX_UNAVAILABLE, "The docker sandbox is closed.");
    await this.prepare();
    this.pool.refill();
    const session = new DockerSandboxSession(
      {
        mode: this.mode,
        idleTimeoutMs: this.settings.idleTimeoutMs,
        nodeApis: this.settings.nodeApis,
        acquire: (heapMb) => this.acquire(heapMb),
        discard: (runner) => this.discard(runner),
        forget: (s) => this.sessions.delete(s),
      },
      options.maxMemoryMb ?? this.settings.maxMemoryMb,
      options.sessionId ?? randomUUID(),
    );
    this.sessions.add(session);
    return session;
  }

  /** Starts the warm pool and waits until it is full. */
  async warm(): Promise<void> {
    await this.prepare();
    await this.pool.warm();
  }

  /** A ready runner for a session: from the warm pool when it has one of the right size. */
  private async acquire(heapMb: number): Promise<ContainerRunner> {
    if (this.closed)
      throw new OptimizerError(ErrorCodes.SANDBOX_UNAVAILABLE, "The docker sandbox is closed.");
    if (heapMb === this.settings.maxMemoryMb) {
      const pooled = this.pool.take();
      if (pooled) return pooled;
    }
    return this.startRunner(heapMb);
  }

  /** Removes a runner in the background; `close()` waits for every such removal. */
  private discard(runner: ContainerRunner): void {
    this.runners.delete(runner);
    const removal = runner.dispose().finally(() => this.removals.delete(removal));
    this.removals.add(removal);
  }

  /** Removes every container this instance started, pool included. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    await this.pool.close();
    await Promise.all([...this.sessions].map((s) => s.close()));
    await Promise.all([...this.runners].map((r) => r.dispose()));
    this.runners.clear();
    while (this.removals.size > 0) await Promise.all([...this.removals]);
  }

  private async startRunner(heapMb: number): Promise<ContainerRunner> {
    const labels = {
      ...this.settings.labels,
      [CONTAINER_LABEL]: this.mode,
      [INSTANCE_LABEL]: this.instance,
      [OWNER_HOST_LABEL]: hostname(),
      [OWNER_PID_LABEL]: String(process.pid),
    };
    const runner = await ContainerRunner.start({
      docker: this.docker,
      endpoint: this.endpoint,
      create: containerConfig(this.settings, heapMb, this.program, labels),
      heapMb,
      memoryLimitMb: memoryLimitFor(this.settings, heapMb),
      startTimeoutMs: this.settings.startTimeoutMs,
      maxStderrBytes: this.settings.maxStderrBytes,
    });
    if (this.closed) {
      await runner.dispose();
      throw new OptimizerError(ErrorCodes.SANDBOX_UNAVAILABLE, "The docker sandbox is closed.");
    }
    this.runners.add(runner);
    return runner;
  }

  /** Engine reachable, runtime registered, image there (built when allowed), orphans gone. Retried after a failure. */
  private prepare(): Promise<EngineInfo> {
    if (!this.preparing) {
      const preparing = (async () => {
        const info = await engineInfo(this.docker, this.endpoint);
        checkRuntime(info, this.settings.runtime, this.endpoint);
        await this.ensureImage();
        if (this.settings.reapOrphans)
          await removeWith(this.docker, this.endpoint, isOrphan).catch(() => 0);
        return info;
      })();
      this.preparing = preparing;
      preparing.catch(() => {
        if (this.preparing === preparing) this.preparing = undefined;
      });
    }
    return this.preparing;
  }

  private async ensureImage(): Promise<void> {
    const { image, buildImage } = this.settings;
    if (await inspectImage(this.docker, image, this.endpoint)) return;
    if (!buildImage) {
      throw new OptimizerError(
        ErrorCodes.SANDBOX_UNAVAILABLE,
        `The Docker engine at ${this.endpoint} has no image ${image}. Pull or load it there, set buildImage: true to build it from this host's Node, or leave "image" unset for the default runner image.`,
        { details: { image } },
      );
    }
    const key = `${this.endpoint}|${image}`;
    let build = builds.get(key);
    if (!build) {
      build = buildRunnerImage({ docker: this.options.docker, tag: image }).finally(() =>
        builds.delete(key),
      );
      builds.set(key, build);
    }
    try {
      await build;
    } catch (error) {
      throw new OptimizerError(
        ErrorCodes.SANDBOX_UNAVAILABLE,
        `The Docker engine at ${this.endpoint} has no image ${image}, and building it failed: ${toOptimizerError(error).message}`,
        { cause: error, details: { image } },
      );
    }
  }
}

/** The docker sandbox: `createDockerSandbox({ runtime: "runsc" })`. */
export function createDockerSandbox(options: DockerSandboxOptions = {}): DockerSandbox {
  return new DockerSandbox(options);
}
