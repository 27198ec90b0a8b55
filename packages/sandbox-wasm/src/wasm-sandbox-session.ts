import { randomUUID } from "node:crypto";
import { availableParallelism } from "node:os";
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
 * An execution that starts within this many ms of the previous one's end runs on a second
 * guest (when the pool has one ready and a core is free), while the first makes its fresh realm.
 */
const BACK_TO_BACK_MS = 20;
/** Cores of this machine: with as many runs under way, a second guest would only compete. */
const CORES = availableParallelism();

/**
 * One optimizer session on the wasm sandbox. It holds guests only while it works: the first
 * execution takes a fresh guest from the pool, later ones reuse it, and after `idleTimeoutMs`
 * without work the guests are given back. `state` travels with every job, so nothing of the
 * session lives in a guest in between. A guest makes a fresh realm after a run that did not
 * end clean (ADR 0029); so that executions coming back to back do not wait for that, such a
 * session takes a second guest and alternates between the two (both serve this session only).
 */
export class WasmSandboxSession implements SandboxSession {
  readonly id: string;
  private readonly queue = new SerialQueue();
  private guests: WasmGuest[] = [];
  private turn = 0;
  private lastEnd = Number.NEGATIVE_INFINITY;
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
      this.sandbox.runsUnderWay++;
      try {
        return await guest.run(job, host, memoryMb);
      } catch (error) {
        throw explain(toOptimizerError(error), job);
      } finally {
        this.sandbox.runsUnderWay--;
        this.lastEnd = performance.now();
        if (this.queue.size <= 1) this.armIdleTimer();
      }
    });
  }

  /** A guest of the session that can take a job; a fresh one when it has none left. */
  private async guestForRun(): Promise<WasmGuest> {
    this.guests = this.guests.filter((g) => g.isAlive);
    const backToBack = performance.now() - this.lastEnd < BACK_TO_BACK_MS;
    if (backToBack && this.guests.length === 1 && this.sandbox.runsUnderWay < CORES) {
      const spare = this.sandbox.takeReady();
      if (spare) this.guests.push(spare);
    }
    while (this.guests.length > 0) {
      this.turn = (this.turn + 1) % this.guests.length;
      const guest = this.guests[this.turn]!;
      await guest.whenIdle();
      if (guest.isIdle) return guest;
      guest.kill();
      this.guests.splice(this.turn, 1);
    }
    const guest = await this.sandbox.acquire();
    if (this.closed) {
      this.sandbox.giveBack(guest);
      this.assertOpen();
    }
    this.guests.push(guest);
    return guest;
  }

  private assertOpen(): void {
    if (this.closed) {
      throw new OptimizerError(ErrorCodes.SANDBOX_UNAVAILABLE, "This sandbox session is closed.");
    }
  }

  /** An idle session holds no guest: give them back after idleTimeoutMs without work. */
  private armIdleTimer(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.queue.size > 0 || this.closed) return;
      this.giveBackGuests();
    }, this.idleTimeoutMs);
    this.idleTimer.unref();
  }

  private giveBackGuests(): void {
    const guests = this.guests;
    this.guests = [];
    for (const guest of guests) this.sandbox.giveBack(guest);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.idleTimer);
    this.sandbox.forget(this);
    await this.queue.run(async () => {});
    this.giveBackGuests();
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
