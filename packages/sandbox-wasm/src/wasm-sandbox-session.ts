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
 * One optimizer session on the wasm sandbox. It holds a guest only while it works: the first
 * execution takes a fresh guest from the pool, later ones reuse it, and after `idleTimeoutMs`
 * without work the guest is given back. `state` travels with every job, so nothing of the
 * session lives in the guest in between.
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

  execute(job: SandboxJob, host: SandboxHost): Promise<SandboxOutcome> {
    clearTimeout(this.idleTimer);
    return this.queue.run(async () => {
      this.assertOpen();
      const guest = await this.guestForRun();
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

  /** The session's guest, once it can take a job; a fresh one when it has none or it died. */
  private async guestForRun(): Promise<WasmGuest> {
    let guest = this.guest;
    if (guest) await guest.whenIdle();
    if (guest?.isIdle) return guest;
    guest?.kill();
    this.guest = undefined;
    guest = await this.sandbox.acquire();
    if (this.closed) {
      this.sandbox.giveBack(guest);
      this.assertOpen();
    }
    this.guest = guest;
    return guest;
  }

  private assertOpen(): void {
    if (this.closed) {
      throw new OptimizerError(ErrorCodes.SANDBOX_UNAVAILABLE, "This sandbox session is closed.");
    }
  }

  /** An idle session holds no guest: give it back after idleTimeoutMs without work. */
  private armIdleTimer(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.queue.size > 0 || this.closed) return;
      this.giveBackGuest();
    }, this.idleTimeoutMs);
    this.idleTimer.unref();
  }

  private giveBackGuest(): void {
    const guest = this.guest;
    this.guest = undefined;
    if (guest) this.sandbox.giveBack(guest);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.idleTimer);
    this.sandbox.forget(this);
    await this.queue.run(async () => {});
    this.giveBackGuest();
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
