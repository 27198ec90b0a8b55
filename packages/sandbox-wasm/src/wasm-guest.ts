import {
  BridgeRun,
  ErrorCodes,
  OptimizerError,
  type SandboxHost,
  type SandboxJob,
  type SandboxOutcome,
  validateGuestFrame,
} from "@mcp-optimizer/core";
import type { GuestThread } from "./guest-thread.js";
import { LineHeads } from "./line-heads.js";

/** Bytes of a line's start kept to recognise the frame that ends a run. */
const HEAD_BYTES = 512;
/** The ready frame is small; a first line longer than this is not one. */
const MAX_READY_BYTES = 4096;
/**
 * A run still busy after DEMOTE_PERIOD_MS is watched: once its thread has used DEMOTE_CPU_MS
 * of CPU time since then, its priority is lowered for good, so that it gives way to short runs
 * of other sessions when the cores are busy (GuestThread.demote). CPU time, not wall time: a
 * short run that merely waited for a core, or for a tool, is not demoted.
 */
const DEMOTE_PERIOD_MS = 50;
const DEMOTE_CPU_MS = 40;

export interface WasmGuestOptions {
  /** The mode name put in outcomes. */
  mode: string;
  /** How long a guest may take from start to its ready frame, ms. */
  startTimeoutMs: number;
  /** How long a guest gets to stop by itself before it is killed, ms. */
  killGraceMs: number;
  /** Called when the guest is killed (its thread terminated), not when it ends cleanly. */
  onKill?: () => void;
}

type State = "starting" | "idle" | "busy" | "dead";

/**
 * One QuickJS guest: an instance of the runner on a guest thread, serving one session. It
 * runs one job at a time. Everything the guest writes is hostile input: the guest must
 * announce itself with one ready frame, write only while a run is under way, and end each run
 * with exactly one terminal frame (done or error) that starts the way the runner writes it;
 * anything else ends the guest (its thread, nothing else) with a typed error. An abandoned run
 * can still be finished by the runner (cancel) within `killGraceMs`, which keeps the guest.
 */
export class WasmGuest {
  readonly ready: Promise<void>;
  private state: State = "starting";
  private bridge: BridgeRun | undefined;
  /** The run the guest is busy with (possibly abandoned by the host already). */
  private busyRun: string | undefined;
  private endMarkers: string[] = [];
  private readonly lines = new LineHeads(HEAD_BYTES);
  private readyLine: Uint8Array[] = [];
  private idleWaiters: (() => void)[] = [];
  private graceTimer: NodeJS.Timeout | undefined;
  private demoteTimer: NodeJS.Timeout | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  private deathError: OptimizerError | undefined;
  private stderrTail = "";
  private retireWhenIdle = false;
  /** Ended by release(): the runner exits by itself and its thread may serve a fresh guest. */
  private releasing = false;
  private readonly deathHooks: ((guest: WasmGuest) => void)[] = [];
  private settleReady!: (error?: OptimizerError) => void;

  constructor(
    readonly thread: GuestThread,
    boot: string,
    private readonly options: WasmGuestOptions,
  ) {
    this.ready = new Promise<void>((resolve, reject) => {
      this.settleReady = (error) => (error ? reject(error) : resolve());
    });
    this.ready.catch(() => {});
    const startTimer = setTimeout(() => {
      this.settleReady(
        new OptimizerError(
          ErrorCodes.SANDBOX_UNAVAILABLE,
          `The wasm guest did not start within ${options.startTimeoutMs} ms.`,
        ),
      );
      this.kill();
    }, options.startTimeoutMs);
    this.ready.then(
      () => clearTimeout(startTimer),
      () => clearTimeout(startTimer),
    );
    thread.start(boot, {
      stdout: (data) => this.onStdout(data),
      stderr: (data) => {
        if (this.stderrTail.length < 4096) this.stderrTail += data;
      },
      exit: (code, reason, error) => this.onExit(code, reason, error),
    });
  }

  get isAlive(): boolean {
    return this.state !== "dead";
  }

  get isIdle(): boolean {
    return this.state === "idle" && !this.releasing;
  }

  get isBusy(): boolean {
    return this.state === "busy";
  }

  /** Called once when the guest ends, for whatever reason. */
  onDeath(fn: (guest: WasmGuest) => void): void {
    if (this.state === "dead") fn(this);
    else this.deathHooks.push(fn);
  }

  /** Resolves when the guest can take a job, or when it died. */
  whenIdle(): Promise<void> {
    if (this.state !== "busy" && this.state !== "starting") return Promise.resolve();
    if (this.state === "starting") return this.ready.then(undefined, () => undefined);
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Runs one job. The guest must be idle. */
  run(job: SandboxJob, host: SandboxHost, memoryMb: number): Promise<SandboxOutcome> {
    if (this.state !== "idle") {
      return Promise.reject(
        this.deathError ??
          new OptimizerError(ErrorCodes.SANDBOX_CRASHED, "The wasm guest is not available."),
      );
    }
    this.state = "busy";
    this.busyRun = job.id;
    const id = JSON.stringify(job.id);
    this.endMarkers = [`{"t":"done","run":${id}`, `{"t":"error","run":${id}`];
    // The runner's own deadline fires a little before the host's, so that it reports the
    // timeout itself and stays usable; the host's deadline is the backstop.
    const { timeoutMs } = job.limits;
    const guestTimeoutMs = Math.max(1, Math.floor(timeoutMs - Math.min(20, timeoutMs * 0.05)));
    const limits = `${JSON.stringify({ t: "limits", run: job.id, timeoutMs: guestTimeoutMs, memoryMb })}\n`;
    let aborted = false;
    const bridge = new BridgeRun({
      job,
      host,
      mode: this.options.mode,
      write: (data) => {
        if (this.state === "dead") {
          throw (
            this.deathError ??
            new OptimizerError(ErrorCodes.SANDBOX_CRASHED, "The wasm guest is gone.")
          );
        }
        this.thread.write(data.startsWith('{"t":"run"') ? limits + data : data);
      },
      onAbort: (error) => {
        aborted = true;
        this.onAbort(job.id, error);
      },
    });
    this.bridge = bridge;
    this.watchCpu(job.id);
    const settled = () => {
      // The bridge accepted a terminal frame the runner would not have written that way:
      // the result stands, the guest goes.
      if (!aborted && this.state === "busy" && this.busyRun === job.id) {
        this.violation("a run ended with a frame the runner does not write");
      }
    };
    return bridge.outcome.then(
      (outcome) => {
        settled();
        return outcome;
      },
      (error: OptimizerError) => {
        settled();
        // A run that ran out of memory leaves the guest's linear memory grown for good:
        // replace the guest once it is idle.
        if (error.code === ErrorCodes.SANDBOX_MEMORY) this.retireWhenIdle = true;
        throw error;
      },
    );
  }

  /** While the run is busy, demotes its thread once it has used DEMOTE_CPU_MS of CPU. */
  private watchCpu(runId: string, sinceCpuMs?: number): void {
    this.demoteTimer = setTimeout(() => {
      if (this.busyRun !== runId || this.thread.isDemoted) return;
      const cpuMs = this.thread.cpuMs();
      if (cpuMs === undefined) return;
      if (sinceCpuMs !== undefined && cpuMs - sinceCpuMs >= DEMOTE_CPU_MS) {
        this.thread.demote();
        return;
      }
      this.watchCpu(runId, sinceCpuMs ?? cpuMs);
    }, DEMOTE_PERIOD_MS);
    this.demoteTimer.unref();
  }

  /** Ends the guest at once, whatever it is doing: its thread is terminated. */
  kill(error?: OptimizerError): void {
    if (this.state === "dead") return;
    if (error && !this.deathError) this.deathError = error;
    this.options.onKill?.();
    this.thread.terminate(this.deathError);
  }

  /**
   * Ends an idle guest cleanly: its input is closed, the runner returns, and its thread is
   * free for a fresh guest. A guest that is not idle is killed instead.
   */
  release(): void {
    if (this.state === "dead" || this.releasing) return;
    if (this.state !== "idle") {
      this.kill();
      return;
    }
    this.releasing = true;
    this.thread.end();
    this.killTimer = setTimeout(() => this.kill(), this.options.killGraceMs);
    this.killTimer.unref();
  }

  private onAbort(runId: string, error: OptimizerError): void {
    if (error.code !== ErrorCodes.SANDBOX_TIMEOUT) {
      // Malformed or oversized output: the stream cannot be trusted any more.
      this.kill(error);
      return;
    }
    // A timeout: the runner may be stuck in a built-in that does not look at the deadline.
    // Ask it to give the run up; if it has not within the grace period, kill it.
    this.thread.write(`${JSON.stringify({ t: "cancel", run: runId })}\n`);
    clearTimeout(this.graceTimer);
    this.graceTimer = setTimeout(() => {
      if (this.state === "busy" && this.busyRun === runId) this.kill(error);
    }, this.options.killGraceMs);
    this.graceTimer.unref();
  }

  /** The guest broke the protocol outside what a run's bridge checks: it goes. */
  private violation(what: string): void {
    this.kill(
      new OptimizerError(
        ErrorCodes.BRIDGE_PROTOCOL_ERROR,
        `The wasm guest broke the bridge protocol (${what}) and was replaced.`,
      ),
    );
  }

  private onStdout(data: Uint8Array): void {
    if (this.state === "starting") {
      this.onStartOutput(data);
      return;
    }
    if (this.state !== "busy") {
      this.violation("it wrote while no run was under way");
      return;
    }
    if (this.bridge && !this.bridge.isSettled) this.bridge.push(data);
    if (this.state !== "busy") return; // the bridge gave up on it
    let ended = false;
    const after = this.lines.push(data, (head) => {
      ended = this.endMarkers.some((m) => head.startsWith(m));
      return ended;
    });
    if (!ended) return;
    if (after > 0) this.violation("it wrote after the frame that ended the run");
    else this.becomeIdle();
  }

  /** The prelude's ready frame is the first line; nothing may follow it before a run. */
  private onStartOutput(data: Uint8Array): void {
    const nl = data.indexOf(0x0a);
    this.readyLine.push(nl === -1 ? data : data.subarray(0, nl));
    const size = this.readyLine.reduce((n, part) => n + part.length, 0);
    if (size > MAX_READY_BYTES) {
      this.failStart(`its first line is over ${MAX_READY_BYTES} bytes`);
      return;
    }
    if (nl === -1) return;
    const line = Buffer.concat(this.readyLine).toString("utf8");
    this.readyLine = [];
    let frame: ReturnType<typeof validateGuestFrame> | undefined;
    try {
      frame = validateGuestFrame(JSON.parse(line));
    } catch {
      frame = undefined;
    }
    if (frame?.t !== "ready") {
      this.failStart(`its first line is not a ready frame: ${line.slice(0, 200)}`);
      return;
    }
    if (nl + 1 < data.length) {
      this.failStart("it wrote after its ready frame");
      return;
    }
    this.state = "idle";
    this.settleReady();
  }

  private failStart(why: string): void {
    this.settleReady(
      new OptimizerError(ErrorCodes.SANDBOX_UNAVAILABLE, `The wasm guest did not start: ${why}.`),
    );
    this.kill();
  }

  private becomeIdle(): void {
    clearTimeout(this.graceTimer);
    clearTimeout(this.demoteTimer);
    this.bridge = undefined;
    this.busyRun = undefined;
    this.endMarkers = [];
    if (this.retireWhenIdle) {
      this.kill();
      return;
    }
    this.state = "idle";
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private onExit(code: number, reason: string, error?: OptimizerError): void {
    if (this.state === "dead") return;
    const wasStarting = this.state === "starting";
    this.state = "dead";
    clearTimeout(this.graceTimer);
    clearTimeout(this.demoteTimer);
    clearTimeout(this.killTimer);
    const why =
      this.deathError ??
      error ??
      new OptimizerError(
        ErrorCodes.SANDBOX_CRASHED,
        `The wasm guest ended (${reason}, exit ${code}).${this.stderrTail ? ` ${this.stderrTail.trim().slice(0, 500)}` : ""}`,
      );
    this.deathError = why;
    if (wasStarting) {
      this.settleReady(
        new OptimizerError(
          ErrorCodes.SANDBOX_UNAVAILABLE,
          `The wasm guest did not start: ${why.message}`,
        ),
      );
    }
    if (this.bridge && !this.bridge.isSettled) this.bridge.fail(why);
    this.bridge = undefined;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
    for (const fn of this.deathHooks.splice(0)) fn(this);
  }
}
