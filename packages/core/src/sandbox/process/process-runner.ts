import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import type { BridgeRun } from "../../bridge/bridge-run.js";
import { ErrorCodes, OptimizerError } from "../../errors.js";

export interface RunnerSpec {
  command: string;
  args: string[];
  heapMb: number;
  /** Kill the runner when its resident memory passes this many MiB (off-heap allocations). */
  rssLimitMb: number;
  startTimeoutMs: number;
}

const STDERR_TAIL_BYTES = 8 * 1024;
const WATCHDOG_INTERVAL_MS = 50;

/**
 * One Node child running the guest program. It belongs to at most one session; it runs
 * one bridge run at a time. Any output while idle means something wrote around the bridge:
 * the runner is killed.
 */
export class ProcessRunner {
  readonly ready: Promise<void>;
  private readonly child: ChildProcess;
  private run: BridgeRun | undefined;
  private readyLine = "";
  private isReady = false;
  private dead = false;
  private stderrTail = "";
  private watchdog: NodeJS.Timeout | undefined;
  private overMemory = false;
  private readonly closed: Promise<void>;

  constructor(readonly spec: RunnerSpec) {
    this.child = spawn(spec.command, spec.args, {
      env: {},
      stdio: ["pipe", "pipe", "pipe"],
      // A session and process group of its own: `kill(0, ...)` from the guest reaches only
      // the runner (and its unshare parent), never the host's group.
      detached: true,
      windowsHide: true,
    });
    let settleReady: (error?: OptimizerError) => void = () => {};
    this.ready = new Promise<void>((resolve, reject) => {
      settleReady = (error) => (error ? reject(error) : resolve());
    });
    // Nobody may await `ready` (a pooled runner that dies early); never leave it unhandled.
    this.ready.catch(() => {});
    const startTimer = setTimeout(() => {
      settleReady(
        new OptimizerError(
          ErrorCodes.SANDBOX_UNAVAILABLE,
          `The process sandbox runner did not start within ${spec.startTimeoutMs} ms.`,
        ),
      );
      this.kill();
    }, spec.startTimeoutMs);

    this.child.stdin!.on("error", () => {}); // EPIPE when the child is gone; 'close' reports it
    this.child.stdout!.on("data", (chunk: Buffer) => {
      if (!this.isReady) {
        this.readyLine += chunk.toString("utf8");
        const nl = this.readyLine.indexOf("\n");
        if (nl === -1) {
          if (this.readyLine.length > 4096) this.kill();
          return;
        }
        const first = this.readyLine.slice(0, nl);
        const rest = this.readyLine.slice(nl + 1);
        this.readyLine = "";
        try {
          const frame = JSON.parse(first) as { t?: string };
          if (frame.t !== "ready") throw new Error("first frame is not ready");
        } catch {
          settleReady(
            new OptimizerError(
              ErrorCodes.SANDBOX_UNAVAILABLE,
              "The process sandbox runner sent no ready frame.",
            ),
          );
          this.kill();
          return;
        }
        this.isReady = true;
        clearTimeout(startTimer);
        settleReady();
        if (rest.length > 0) this.kill();
        return;
      }
      if (this.run) this.run.push(chunk);
      else this.kill();
    });
    this.child.stderr!.on("data", (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString("utf8")).slice(-STDERR_TAIL_BYTES);
    });
    this.closed = new Promise<void>((resolve) => {
      this.child.on("close", (code, signal) => {
        this.dead = true;
        clearTimeout(startTimer);
        this.stopWatchdog();
        settleReady(
          new OptimizerError(
            ErrorCodes.SANDBOX_UNAVAILABLE,
            `The process sandbox runner exited during start (${signal ?? `exit code ${code}`}): ${this.stderrTail.trim().slice(-500)}`,
          ),
        );
        this.run?.fail(this.classifyExit(code, signal));
        resolve();
      });
    });
    this.child.on("error", (error) => {
      this.dead = true;
      settleReady(
        new OptimizerError(
          ErrorCodes.SANDBOX_UNAVAILABLE,
          `Cannot start the process sandbox runner (${spec.command}): ${error.message}`,
        ),
      );
    });
  }

  get alive(): boolean {
    return !this.dead;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  write(data: string): void {
    if (this.dead)
      throw new OptimizerError(ErrorCodes.SANDBOX_CRASHED, "The sandbox runner is gone.");
    this.child.stdin!.write(data);
  }

  attach(run: BridgeRun): void {
    this.run = run;
    this.startWatchdog();
  }

  detach(run: BridgeRun): void {
    if (this.run === run) this.run = undefined;
    this.stopWatchdog();
  }

  kill(): void {
    if (this.dead) return;
    this.dead = true;
    this.stopWatchdog();
    killGroup(this.child);
  }

  /** Kills and waits until the process and its pipes are gone. */
  async dispose(): Promise<void> {
    this.kill();
    if (
      this.child.exitCode === null &&
      this.child.signalCode === null &&
      this.child.pid !== undefined
    ) {
      await this.closed;
    }
  }

  private classifyExit(code: number | null, signal: NodeJS.Signals | null): OptimizerError {
    const tail = this.stderrTail;
    if (this.overMemory || /heap out of memory|Reached heap limit|Allocation failed/i.test(tail)) {
      return new OptimizerError(
        ErrorCodes.SANDBOX_MEMORY,
        `The program used more than the ${this.overMemory ? this.spec.rssLimitMb : this.spec.heapMb} MB memory limit and was stopped. Process data in smaller pieces or raise maxMemoryMb.`,
        { details: { maxMemoryMb: this.spec.heapMb } },
      );
    }
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    const stderr = tail.trim().split("\n").slice(-5).join("\n");
    return new OptimizerError(
      ErrorCodes.SANDBOX_CRASHED,
      `The sandbox runner died (${how})${stderr ? `: ${stderr}` : ""}. A fresh runner serves the next execution.`,
      { details: { exitCode: code, signal } },
    );
  }

  private startWatchdog(): void {
    if (process.platform !== "linux" || this.child.pid === undefined) return;
    const limitBytes = this.spec.rssLimitMb * 1024 * 1024;
    this.watchdog = setInterval(() => {
      const rss = treeRssBytes(this.child.pid!);
      if (rss > limitBytes) {
        this.overMemory = true;
        this.kill();
      }
    }, WATCHDOG_INTERVAL_MS);
    this.watchdog.unref();
  }

  private stopWatchdog(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = undefined;
  }
}

/** SIGKILL to the runner's own process group (unshare and node), else to the child alone. */
function killGroup(child: ChildProcess): void {
  if (child.pid !== undefined && process.platform !== "win32") {
    try {
      process.kill(-child.pid, "SIGKILL");
      return;
    } catch {}
  }
  try {
    child.kill("SIGKILL");
  } catch {}
}

const PAGE_SIZE = 4096;

/** Resident memory of a process and its direct children (unshare -> node). */
function treeRssBytes(pid: number): number {
  let total = 0;
  const pids = [pid];
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
    if (children) pids.push(...children.split(/\s+/).map(Number));
  } catch {}
  for (const p of pids) {
    try {
      const statm = readFileSync(`/proc/${p}/statm`, "utf8").split(" ");
      total += Number(statm[1]) * PAGE_SIZE;
    } catch {}
  }
  return total;
}
