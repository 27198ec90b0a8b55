import {
  BridgeRun,
  ErrorCodes,
  type JobAttempt,
  OptimizerError,
  runUnlessStarted,
  type SandboxHost,
  type SandboxJob,
  type SandboxOutcome,
  type SandboxSession,
  SerialQueue,
} from "@mcp-optimizer/core";
import type { ContainerRunner } from "./container-runner.js";

/** What a session needs from its sandbox. */
export interface RunnerSource {
  mode: string;
  idleTimeoutMs: number;
  /** Programs get Node's APIs: a container serves one execution. */
  nodeApis: boolean;
  /** A ready runner whose heap ceiling is `heapMb`. */
  acquire(heapMb: number): Promise<ContainerRunner>;
  /** Removes a runner in the background. */
  discard(runner: ContainerRunner): void;
  /** The session closed. */
  forget(session: DockerSandboxSession): void;
}

/**
 * One optimizer session: its own container, taken on the first execution and kept between
 * executions (only `state` carries over: each run finds the globals as they were before any
 * program). A container that dies, overruns or misbehaves is removed and the next execution
 * gets a fresh one; one idle for `idleTimeoutMs` is removed too. With `nodeApis`, every
 * execution gets a fresh container.
 */
export class DockerSandboxSession implements SandboxSession {
  private runner: ContainerRunner | undefined;
  private readonly queue = new SerialQueue();
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly sandbox: RunnerSource,
    private heapMb: number,
    readonly id: string,
  ) {}

  /** The id of the container serving this session now, if one does. */
  get containerId(): string | undefined {
    return this.runner?.alive ? this.runner.id : undefined;
  }

  /** Whether a container serves this session now (idle sessions give theirs back). */
  get hasRunner(): boolean {
    return this.runner?.alive === true;
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
    this.assertOpen();
    this.clearIdle();
    if (job.limits.maxMemoryMb !== this.heapMb) {
      // Node's heap ceiling is fixed at start: another limit needs another container.
      this.heapMb = job.limits.maxMemoryMb;
      this.dropRunner();
    }
    if (!this.runner?.alive) {
      this.dropRunner();
      const fresh = await this.sandbox.acquire(this.heapMb);
      if (this.closed) {
        this.sandbox.discard(fresh);
        this.assertOpen();
      }
      this.runner = fresh;
    }
    const runner = this.runner;
    const run = new BridgeRun({
      job,
      host,
      mode: this.sandbox.mode,
      write: (data) => runner.write(data),
      onAbort: () => runner.kill(),
      acknowledged: true,
    });
    runner.attach(run);
    const outcome = run.outcome.finally(() => {
      runner.detach(run);
      // A program with Node's APIs could change the runner itself: its container serves no
      // other execution.
      if (!runner.alive || this.sandbox.nodeApis) this.dropRunner();
      this.armIdle();
    });
    return { outcome, started: () => run.started };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.clearIdle();
    this.sandbox.forget(this);
    const runner = this.runner;
    this.runner = undefined;
    if (runner) {
      this.sandbox.discard(runner);
      await runner.dispose();
    }
  }

  private assertOpen(): void {
    if (this.closed)
      throw new OptimizerError(ErrorCodes.SANDBOX_UNAVAILABLE, "This sandbox session is closed.");
  }

  private dropRunner(): void {
    if (this.runner) this.sandbox.discard(this.runner);
    this.runner = undefined;
  }

  private armIdle(): void {
    if (this.closed) return;
    this.idleTimer = setTimeout(() => {
      if (this.queue.size === 0) this.dropRunner();
    }, this.sandbox.idleTimeoutMs);
    this.idleTimer.unref();
  }

  private clearIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }
}
