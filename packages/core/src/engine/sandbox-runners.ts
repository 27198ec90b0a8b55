import type { Sandbox, SandboxSession } from "../contracts/sandbox.js";

export interface SandboxRunnersOptions {
  /** Runners kept for sessions at most; the least recently used is closed. Default 64. */
  maxRunners?: number;
  /**
   * Close a session's runner after this many idle ms. Default 10000: `state` lives in the
   * session store, so an idle session needs no runner, and its next execution takes a fresh
   * pre-started one from the sandbox's pool (a few ms), never another session's.
   */
  idleMs?: number;
  /** The memory ceiling each runner is opened with, in MiB. */
  maxMemoryMb: number;
}

interface RunnerEntry {
  runner: Promise<SandboxSession>;
  lastUsed: number;
  /** Executions using it now: a busy runner is never reaped as idle. */
  busy: number;
}

/** The default idle time before a session's runner is closed, in ms. */
export const DEFAULT_RUNNER_IDLE_MS = 10_000;

/**
 * The engine's runners, one per optimizer session: opened on a session's first execution,
 * closed when idle or when the least recently used must make room. A runner is never handed
 * to another session: what it ran is the session's alone. Closing idle runners promptly is
 * what keeps an idle session's cost near zero (its `state` is data in the session store).
 */
export class SandboxRunners {
  private readonly entries = new Map<string, RunnerEntry>();
  private readonly reaper: NodeJS.Timeout;
  private readonly maxRunners: number;
  private readonly idleMs: number;

  constructor(
    private readonly sandbox: () => Sandbox,
    private readonly options: SandboxRunnersOptions,
  ) {
    this.maxRunners = options.maxRunners ?? 64;
    this.idleMs = options.idleMs ?? DEFAULT_RUNNER_IDLE_MS;
    // Checked four times per idle period: a runner is closed within 1.25 x idleMs.
    this.reaper = setInterval(
      () => this.reapIdle(),
      Math.max(50, Math.min(30_000, Math.floor(this.idleMs / 4))),
    );
    this.reaper.unref();
  }

  /** Runners held now (for the sessions gauge). */
  get size(): number {
    return this.entries.size;
  }

  /**
   * The session's runner (opened when it has none), marked busy until `release()`: a busy
   * runner is never reaped, and its idle time counts from the release.
   */
  async acquire(sessionId: string): Promise<{ runner: SandboxSession; release(): void }> {
    const entry = this.entry(sessionId);
    entry.busy++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      entry.busy--;
      entry.lastUsed = Date.now();
    };
    try {
      return { runner: await entry.runner, release };
    } catch (error) {
      release();
      throw error;
    }
  }

  private entry(sessionId: string): RunnerEntry {
    const existing = this.entries.get(sessionId);
    if (existing) {
      // Re-insert: a Map iterates in insertion order, so the first entry is the LRU one.
      this.entries.delete(sessionId);
      this.entries.set(sessionId, existing);
      return existing;
    }
    const runner = this.sandbox().open({ sessionId, maxMemoryMb: this.options.maxMemoryMb });
    const entry: RunnerEntry = { runner, lastUsed: Date.now(), busy: 0 };
    this.entries.set(sessionId, entry);
    runner.catch(() => {
      if (this.entries.get(sessionId) === entry) this.entries.delete(sessionId);
    });
    while (this.entries.size > this.maxRunners) {
      const oldest = this.entries.keys().next().value as string;
      void this.close(oldest);
    }
    return entry;
  }

  /** Closes the session's runner, if it has one. */
  async close(sessionId: string): Promise<void> {
    const entry = this.entries.get(sessionId);
    if (!entry) return;
    this.entries.delete(sessionId);
    try {
      await (await entry.runner).close();
    } catch {}
  }

  async closeAll(): Promise<void> {
    clearInterval(this.reaper);
    await Promise.allSettled([...this.entries.keys()].map((id) => this.close(id)));
  }

  private reapIdle(): void {
    const now = Date.now();
    for (const [id, entry] of this.entries) {
      if (entry.busy === 0 && now - entry.lastUsed > this.idleMs) void this.close(id);
    }
  }
}
