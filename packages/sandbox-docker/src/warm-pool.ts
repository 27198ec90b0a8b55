import { type OptimizerError, toOptimizerError } from "@mcp-optimizer/core";
import type { ContainerRunner } from "./container-runner.js";

/**
 * Containers started ahead of demand, so that a new session gets a ready runner in a few
 * milliseconds instead of a container start (about half a second). Refills in the
 * background, one container at a time, after each take.
 */
export class WarmPool {
  private idle: ContainerRunner[] = [];
  private filling: Promise<void> | undefined;
  private closed = false;
  /** Why the last refill stopped, if it failed. */
  lastError: OptimizerError | undefined;

  constructor(
    readonly size: number,
    private readonly start: () => Promise<ContainerRunner>,
  ) {}

  /** A ready runner, or undefined when none is (the caller starts one itself). */
  take(): ContainerRunner | undefined {
    let runner: ContainerRunner | undefined;
    while (!runner && this.idle.length > 0) {
      const next = this.idle.shift()!;
      if (next.alive) runner = next;
    }
    this.refill();
    return runner;
  }

  /** Starts containers in the background until the pool is full. */
  refill(): void {
    if (this.closed || this.filling || this.size === 0) return;
    const filling = this.fill();
    this.filling = filling;
    // Cleared from a callback, never inside fill(): fill() may finish synchronously (pool
    // already full), and clearing before this assignment would leave `filling` set forever.
    void filling.finally(() => {
      if (this.filling === filling) this.filling = undefined;
    });
  }

  private async fill(): Promise<void> {
    for (;;) {
      this.idle = this.idle.filter((r) => r.alive);
      if (this.closed || this.idle.length >= this.size) return;
      let runner: ContainerRunner;
      try {
        runner = await this.start();
      } catch (error) {
        this.lastError = toOptimizerError(error);
        return; // the engine cannot start containers now; the next take tries again
      }
      this.lastError = undefined;
      if (this.closed) {
        await runner.dispose();
        return;
      }
      this.idle.push(runner);
    }
  }

  /** Waits until the pool is full (benchmarks, tests, and callers that want no cold start). */
  async warm(): Promise<void> {
    this.refill();
    while (this.filling) await this.filling;
    if (this.lastError && this.idleCount < this.size) throw this.lastError;
  }

  get idleCount(): number {
    return this.idle.filter((r) => r.alive).length;
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.filling) await this.filling;
    await Promise.all(this.idle.splice(0).map((r) => r.dispose()));
  }
}
