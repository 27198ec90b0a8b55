import { execFile, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { BridgeRun } from "../../bridge/bridge-run.js";
import { nodeGuestProgram } from "../../bridge/guest-source.js";
import { type JobAttempt, runUnlessStarted } from "../../bridge/run-unless-started.js";
import type {
  Sandbox,
  SandboxCapabilities,
  SandboxHost,
  SandboxJob,
  SandboxOpenOptions,
  SandboxOutcome,
  SandboxPoolStats,
  SandboxSession,
} from "../../contracts/sandbox.js";
import { ErrorCodes, OptimizerError } from "../../errors.js";
import { PERMISSION_MODEL_NODE_VERSION } from "../../runtime/node-version.js";
import { SerialQueue } from "../serial-queue.js";
import { ProcessRunner, type RunnerSpec } from "./process-runner.js";

export interface ProcessSandboxOptions {
  /** V8 heap ceiling of each runner in MiB. Default 128. */
  maxMemoryMb?: number;
  /** Resident-memory ceiling (heap plus buffers) in MiB, watched from the host. Default 2 x maxMemoryMb + 64. */
  maxRssMb?: number;
  /**
   * Runners kept started and idle so a new session does not wait for Node to boot; the pool
   * starts filling when the sandbox is created. Default 1.
   */
  poolSize?: number;
  /**
   * Network and PID namespaces of the runner's own (`unshare`): "auto" uses them where Linux
   * allows, "required" refuses to run without them, "off" never tries. Default "auto".
   */
  namespaces?: "auto" | "required" | "off";
  /** The Node binary for runners. Default: the host's own (`process.execPath`). */
  nodePath?: string;
  /** How long a runner may take to boot, in ms. Default 10000. */
  startTimeoutMs?: number;
}

export interface NamespaceSupport {
  network: boolean;
  pid: boolean;
  reason?: string;
}

let namespaceProbe: NamespaceSupport | undefined;

/** Whether `unshare --net --pid` works here (needs root or unprivileged user namespaces). */
export function probeNamespaces(): NamespaceSupport {
  if (namespaceProbe) return namespaceProbe;
  if (process.platform !== "linux") {
    namespaceProbe = {
      network: false,
      pid: false,
      reason: `namespaces need Linux (this is ${process.platform})`,
    };
    return namespaceProbe;
  }
  const attempts: string[][] = [
    ["--net", "--pid", "--fork", "--kill-child", "true"],
    ["--user", "--map-root-user", "--net", "--pid", "--fork", "--kill-child", "true"],
  ];
  let reason = "";
  for (const args of attempts) {
    const r = spawnSync("unshare", args, { encoding: "utf8", timeout: 5000 });
    if (r.status === 0) {
      namespaceProbe = { network: true, pid: true };
      unshareArgs = args.slice(0, -1);
      return namespaceProbe;
    }
    reason = r.error ? r.error.message : (r.stderr || `exit ${r.status}`).trim();
  }
  namespaceProbe = { network: false, pid: false, reason: `unshare failed: ${reason}` };
  return namespaceProbe;
}

let unshareArgs: string[] = [];

export interface PermissionModelSupport {
  supported: boolean;
  /** The runner's Node.js version, e.g. "v24.1.0". */
  version?: string;
  /** Why not, naming the version needed. */
  reason?: string;
}

const permissionProbes = new Map<string, PermissionModelSupport>();

/**
 * Whether this Node binary has the permission model the runners start under (`--permission`,
 * stable since 22.13): tried once per binary, as the runner would be started.
 */
export function probePermissionModel(nodePath: string = process.execPath): PermissionModelSupport {
  const known = permissionProbes.get(nodePath);
  if (known) return known;
  const r = spawnSync(nodePath, ["--permission", "-e", "process.stdout.write(process.version)"], {
    encoding: "utf8",
    timeout: 10_000,
    env: {},
  });
  let support: PermissionModelSupport;
  if (r.status === 0) support = { supported: true, version: r.stdout.trim() };
  else {
    const version = spawnSync(nodePath, ["--version"], { encoding: "utf8", timeout: 10_000 });
    const which = version.status === 0 ? `Node.js ${version.stdout.trim()}` : "it";
    const why = r.error
      ? r.error.message
      : (r.stderr.trim().split("\n")[0] ?? `exit ${r.status}`).replace(/^.*?: /, "");
    support = {
      supported: false,
      ...(version.status === 0 ? { version: version.stdout.trim() } : {}),
      reason: `the process sandbox runs programs under Node's permission model (--permission), which needs Node.js >= ${PERMISSION_MODEL_NODE_VERSION}; ${nodePath} is ${which} (${why}). Use a newer Node.js, or another sandbox mode (wasm, docker)`,
    };
  }
  permissionProbes.set(nodePath, support);
  return support;
}

/**
 * probePermissionModel without blocking the event loop while the probe's Node boots (it is
 * on the first execution's path); a failure is explained by the synchronous probe.
 */
export async function probePermissionModelAsync(
  nodePath: string = process.execPath,
): Promise<PermissionModelSupport> {
  const known = permissionProbes.get(nodePath);
  if (known) return known;
  const version = await new Promise<string | undefined>((resolve) =>
    execFile(
      nodePath,
      ["--permission", "-e", "process.stdout.write(process.version)"],
      { encoding: "utf8", timeout: 10_000, env: {} },
      (error, stdout) => resolve(error ? undefined : stdout.trim()),
    ),
  );
  if (version === undefined) return probePermissionModel(nodePath);
  const support = { supported: true, version };
  permissionProbes.set(nodePath, support);
  return support;
}

/**
 * The zero-dependency sandbox: a long-lived Node child per session under Node's permission
 * model (no files, no child processes, no workers, no addons), an empty environment, a V8
 * heap limit, a host-side RSS watchdog and a wall-clock limit; in network and PID
 * namespaces of its own where Linux allows. A resource boundary, not a hostile-code
 * boundary: see docs/sandboxes.md.
 */
export class ProcessSandbox implements Sandbox {
  readonly mode = "process";
  private readonly pool: ProcessRunner[] = [];
  private readonly sessions = new Set<ProcessSandboxSession>();
  private filling: Promise<void> | undefined;
  /** The pool's runner still booting, which an execution may take over rather than start another. */
  private booting: ProcessRunner | undefined;
  private readonly takenOver = new WeakSet<ProcessRunner>();
  private closed = false;
  private readonly heapMb: number;
  private readonly poolSize: number;

  constructor(private readonly options: ProcessSandboxOptions = {}) {
    this.heapMb = options.maxMemoryMb ?? 128;
    this.poolSize = options.poolSize ?? 1;
    if (!Number.isInteger(this.heapMb) || this.heapMb < 16) {
      throw new OptimizerError(
        ErrorCodes.INVALID_CONFIG,
        `maxMemoryMb must be an integer >= 16; got ${this.heapMb}.`,
      );
    }
    const ns = options.namespaces ?? "auto";
    if (ns === "required") {
      const support = probeNamespaces();
      if (!support.network) {
        throw new OptimizerError(
          ErrorCodes.SANDBOX_UNAVAILABLE,
          `The process sandbox was asked for namespaces, but ${support.reason}. Run as root, enable unprivileged user namespaces, or set namespaces: "auto".`,
        );
      }
    }
    // Start the pool now: the first execution after start takes a ready runner.
    this.refill();
  }

  /** The command line of one runner. */
  runnerSpec(heapMb = this.heapMb): RunnerSpec {
    const node = this.options.nodePath ?? process.execPath;
    const nodeArgs = [
      "--permission",
      `--max-old-space-size=${heapMb}`,
      "--max-semi-space-size=4",
      "--stack-size=984",
      "--no-warnings",
      "--experimental-vm-modules",
      "--unhandled-rejections=warn",
      "-e",
      nodeGuestProgram(),
    ];
    const useNs = (this.options.namespaces ?? "auto") !== "off" && probeNamespaces().network;
    return {
      command: useNs ? "unshare" : node,
      args: useNs ? [...unshareArgs, node, ...nodeArgs] : nodeArgs,
      heapMb,
      rssLimitMb: this.options.maxRssMb ?? heapMb * 2 + 64,
      startTimeoutMs: this.options.startTimeoutMs ?? 10_000,
    };
  }

  async capabilities(): Promise<SandboxCapabilities> {
    const node = probePermissionModel(this.options.nodePath ?? process.execPath);
    const ns = (this.options.namespaces ?? "auto") === "off" ? undefined : probeNamespaces();
    return {
      mode: this.mode,
      available: node.supported,
      isolation: "resource",
      ...(!node.supported
        ? { reason: node.reason }
        : ns && !ns.network
          ? { reason: `no network/PID namespaces: ${ns.reason}` }
          : {}),
      details: {
        engine: `node ${node.version ?? "?"}`,
        permissionModel: node.supported,
        networkNamespace: ns?.network ?? false,
        pidNamespace: ns?.pid ?? false,
        heapLimitMb: this.heapMb,
        rssLimitMb: this.options.maxRssMb ?? this.heapMb * 2 + 64,
        poolSize: this.poolSize,
        idleRunners: this.pool.length,
        activeSessions: this.sessions.size,
        boundary: "resource limits, not a hostile-code boundary",
      },
    };
  }

  async open(options: SandboxOpenOptions = {}): Promise<SandboxSession> {
    if (this.closed)
      throw new OptimizerError(ErrorCodes.SANDBOX_UNAVAILABLE, "The process sandbox is closed.");
    const node = await probePermissionModelAsync(this.options.nodePath ?? process.execPath);
    if (!node.supported) {
      throw new OptimizerError(
        ErrorCodes.SANDBOX_UNAVAILABLE,
        `The process sandbox cannot run here: ${node.reason}.`,
      );
    }
    const heapMb = options.maxMemoryMb ?? this.heapMb;
    const session = new ProcessSandboxSession(this, heapMb, options.sessionId);
    this.sessions.add(session);
    return session;
  }

  /** A ready runner: from the pool when it has one of the right size, else a new one. */
  async acquire(heapMb: number): Promise<ProcessRunner> {
    if (heapMb === this.heapMb) {
      while (this.pool.length > 0) {
        const runner = this.pool.shift()!;
        if (runner.alive) {
          this.refill();
          return runner;
        }
      }
    }
    // The pool's runner is still booting: take it over rather than boot a second one beside it.
    const booting = this.booting;
    if (heapMb === this.heapMb && booting?.alive) {
      this.booting = undefined;
      this.takenOver.add(booting);
      const ready = await booting.ready.then(
        () => true,
        () => false, // it died booting: a fresh one below says why if it fails too
      );
      if (ready) return booting;
    }
    this.refill();
    const runner = new ProcessRunner(this.runnerSpec(heapMb));
    await runner.ready;
    return runner;
  }

  release(session: ProcessSandboxSession): void {
    this.sessions.delete(session);
  }

  /** Starts runners in the background until the pool is full. */
  refill(): void {
    if (this.closed || this.filling || this.poolSize === 0) return;
    if (this.pool.filter((r) => r.alive).length >= this.poolSize) return;
    // Assign before the body can finish: a body that completes synchronously must not leave a stale promise.
    const filling = (async () => {
      while (!this.closed && this.pool.filter((r) => r.alive).length < this.poolSize) {
        const runner = new ProcessRunner(this.runnerSpec());
        this.booting = runner;
        try {
          await runner.ready;
        } catch {
          return; // cannot start runners right now; open() will report why
        } finally {
          if (this.booting === runner) this.booting = undefined;
        }
        if (this.closed) {
          await runner.dispose();
          return;
        }
        // An execution took it over while it booted: start the pool's next one.
        if (this.takenOver.has(runner)) continue;
        this.pool.push(runner);
      }
    })();
    this.filling = filling;
    void filling.finally(() => {
      if (this.filling === filling) this.filling = undefined;
    });
  }

  /** Warm runners in the pool and sessions holding one, for the pool gauge. */
  poolStats(): SandboxPoolStats[] {
    let active = 0;
    for (const s of this.sessions) if (s.hasRunner) active++;
    return [{ mode: this.mode, idle: this.pool.filter((r) => r.alive).length, active }];
  }

  /** Waits until the pool is full (for benchmarks and tests of warm starts). */
  async warm(): Promise<void> {
    this.refill();
    while (this.filling) await this.filling;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.filling) await this.filling;
    await Promise.all([
      ...this.pool.splice(0).map((r) => r.dispose()),
      ...[...this.sessions].map((s) => s.close()),
    ]);
  }
}

class ProcessSandboxSession implements SandboxSession {
  readonly id: string;
  private runner: ProcessRunner | undefined;
  private readonly queue = new SerialQueue();
  private closed = false;

  get hasRunner(): boolean {
    return this.runner?.alive === true;
  }

  constructor(
    private readonly sandbox: ProcessSandbox,
    private heapMb: number,
    sessionId?: string,
  ) {
    this.id = sessionId ?? randomUUID();
  }

  execute(job: SandboxJob, host: SandboxHost): Promise<SandboxOutcome> {
    return this.queue.run(() =>
      runUnlessStarted(
        job,
        (j) => this.attempt(j, host),
        () => this.closed,
      ),
    );
  }

  private async attempt(job: SandboxJob, host: SandboxHost): Promise<JobAttempt> {
    if (this.closed) {
      throw new OptimizerError(ErrorCodes.SANDBOX_UNAVAILABLE, "This sandbox session is closed.");
    }
    if (job.limits.maxMemoryMb !== this.heapMb) {
      this.heapMb = job.limits.maxMemoryMb;
      await this.runner?.dispose();
      this.runner = undefined;
    }
    if (!this.runner?.alive) this.runner = await this.sandbox.acquire(this.heapMb);
    const runner = this.runner;
    const run = new BridgeRun({
      job,
      host,
      mode: "process",
      write: (data) => runner.write(data),
      onAbort: () => runner.kill(),
      acknowledged: true,
    });
    runner.attach(run);
    const outcome = run.outcome.finally(() => {
      runner.detach(run);
      if (!runner.alive && this.runner === runner) this.runner = undefined;
    });
    return { outcome, started: () => run.started };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.sandbox.release(this);
    await this.runner?.dispose();
    this.runner = undefined;
  }
}

/** The process sandbox: `createProcessSandbox({ maxMemoryMb: 256 })`. */
export function createProcessSandbox(options: ProcessSandboxOptions = {}): ProcessSandbox {
  return new ProcessSandbox(options);
}
