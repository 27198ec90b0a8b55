import { randomUUID } from "node:crypto";
import {
  ErrorCodes,
  OptimizerError,
  type SandboxHost,
  type SandboxJob,
  type SandboxOutcome,
  type SandboxSession,
  SerialQueue,
  toOptimizerError,
} from "@mcp-optimizer/core";
import type { WasmGuest } from "./wasm-guest.js";
import type { WasmSandbox } from "./wasm-sandbox.js";

/**
 * One optimizer session on the wasm sandbox: a long-lived guest whose JavaScript globals
 * persist between executions. When the guest had to be replaced (killed after a deadline
 * overrun, after running out of memory, or with its engine process), the next execution gets
 * a fresh one: `state` carries over (the host sends it with every job), globals do not.
 */
export class WasmSandboxSession implements SandboxSession {
  readonly id: string;
  private readonly queue = new SerialQueue();
  private guest: WasmGuest | undefined;
  private closed = false;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly sandbox: WasmSandbox,
    private readonly memoryMb: number,
    private readonly idleTimeoutMs: number,
    sessionId?: string,
  ) {
    this.id = sessionId ?? randomUUID();
  }

  /** Takes a guest ahead of the first execution. */
  async prepare(): Promise<void> {
    try {
      this.guest = await this.sandbox.acquire();
      this.armIdleTimer();
    } catch (error) {
      this.sandbox.release(this);
      this.closed = true;
      throw error;
    }
  }

  execute(job: SandboxJob, host: SandboxHost): Promise<SandboxOutcome> {
    clearTimeout(this.idleTimer);
    return this.queue.run(async () => {
      if (this.closed) {
        throw new OptimizerError(ErrorCodes.SANDBOX_UNAVAILABLE, "This sandbox session is closed.");
      }
      let guest = this.guest;
      if (guest) await guest.whenIdle();
      if (!guest?.isIdle) {
        guest?.kill();
        guest = await this.sandbox.acquire();
        if (this.closed) {
          guest.kill();
          throw new OptimizerError(
            ErrorCodes.SANDBOX_UNAVAILABLE,
            "This sandbox session is closed.",
          );
        }
        this.guest = guest;
      }
      const memoryMb = Math.max(8, Math.min(job.limits.maxMemoryMb, this.memoryMb));
      try {
        return await guest.run(job, host, memoryMb);
      } catch (error) {
        throw explain(toOptimizerError(error), job);
      } finally {
        if (this.queue.size <= 1) this.armIdleTimer();
      }
    });
  }

  /** An idle guest holds ~20 MB: stop it after idleTimeoutMs without work. */
  private armIdleTimer(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.queue.size > 0 || this.closed) return;
      this.guest?.kill();
      this.guest = undefined;
    }, this.idleTimeoutMs);
    this.idleTimer.unref();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.idleTimer);
    this.sandbox.release(this);
    await this.queue.run(async () => {});
    this.guest?.kill();
    this.guest = undefined;
  }
}

/** The runner reports a deadline or heap overrun tersely; say what happened and what to do. */
function explain(error: OptimizerError, job: SandboxJob): OptimizerError {
  if (error.code === ErrorCodes.SANDBOX_TIMEOUT && /^(interrupted|cancelled)/.test(error.message)) {
    return new OptimizerError(
      ErrorCodes.SANDBOX_TIMEOUT,
      `The program ran longer than ${job.limits.timeoutMs} ms and was stopped. Do less per execution (fewer calls, smaller loops) or raise maxExecutionTime.`,
      { details: { ...error.details, timeoutMs: job.limits.timeoutMs } },
    );
  }
  if (error.code === ErrorCodes.SANDBOX_MEMORY && /^out of memory/.test(error.message)) {
    return new OptimizerError(
      ErrorCodes.SANDBOX_MEMORY,
      `The program went over its memory limit of ${job.limits.maxMemoryMb} MB and was stopped. Work on less data at once (page through results, keep only the fields needed).`,
      { details: { ...error.details, maxMemoryMb: job.limits.maxMemoryMb } },
    );
  }
  return error;
}
