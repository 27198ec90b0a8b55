import type {
  ContextRequest,
  GuestRequest,
  LogEntry,
  SandboxHost,
  SandboxJob,
  SandboxOutcome,
} from "../contracts/sandbox.js";
import { ErrorCodes, OptimizerError, toOptimizerError } from "../errors.js";
import type { JsonObject } from "../json.js";
import { FrameDecoder } from "./frame-decoder.js";
import {
  type CallFrame,
  encodeFrame,
  type GuestFrame,
  guestErrorCode,
  parseGuestFrame,
  type RunFrame,
} from "./protocol.js";

/** Headroom over `maxOutputBytes` for the frame envelope and a large tool-call argument. */
const FRAME_SLACK_BYTES = 64 * 1024;
/**
 * Host calls of one run that are answered at once; the rest wait their turn here, and those
 * still waiting when the run ends are never made. A program that fires 100,000 calls then
 * holds an upstream no more than this, and nothing of it reaches an upstream after it ended.
 */
export const MAX_CALLS_IN_FLIGHT = 32;
/**
 * How much earlier than the host's deadline a runner may report its own timeout (the wasm
 * runner's deadline is up to 20 ms ahead). A timeout reported sooner is the program's claim.
 */
const GUEST_DEADLINE_LEAD_MS = 30;

export interface BridgeRunOptions {
  job: SandboxJob;
  host: SandboxHost;
  /** Writes bytes to the guest (its stdin). */
  write: (data: string) => void;
  /** The mode name reported in the outcome. */
  mode: string;
  /**
   * Called once when the guest can no longer be trusted to continue: timeout, malformed
   * output, output over the limit. The sandbox kills or recycles the runner.
   */
  onAbort: (error: OptimizerError) => void;
  /**
   * The runner heads a run's frames with `started` (the Node runner does). Then every frame
   * is held to this run: a frame before `started` means the runner is still busy with an
   * earlier program, one with another run id or after the terminal frame is a protocol
   * error; either way the runner is given up (`onAbort`), and `started` tells the sandbox
   * whether the job may be retried on a fresh runner.
   */
  acknowledged?: boolean;
  /**
   * Give the runner up when `started` has not come after this many ms (a runner known to
   * answer at once). Default: no such limit; the job's own timeout applies.
   */
  ackTimeoutMs?: number;
}

/** SANDBOX_TIMEOUT for a program that ran past `timeoutMs`. */
export function timeoutError(timeoutMs: number): OptimizerError {
  return new OptimizerError(
    ErrorCodes.SANDBOX_TIMEOUT,
    `The program ran longer than ${timeoutMs} ms and was stopped. Do less per execution (fewer calls, smaller loops) or raise maxExecutionTime.`,
    { details: { timeoutMs } },
  );
}

/**
 * The host side of one execution over the bridge. A sandbox feeds the guest's stdout into
 * `push()`, reports a dead runner with `fail()`, and awaits `outcome`. Enforces the
 * wall-clock limit, frame validity and sizes; routes calls to the host.
 */
export class BridgeRun {
  readonly outcome: Promise<SandboxOutcome>;
  private readonly decoder: FrameDecoder;
  private readonly logs: LogEntry[] = [];
  private logBytes = 0;
  private logsTruncated = false;
  private readonly hostSentCodes = new Set<string>();
  private callsInFlight = 0;
  // A queue read from `nextWaiting` on: shift() on a long array copies it each time.
  private waitingCalls: CallFrame[] = [];
  private nextWaiting = 0;
  private readonly startedAt = performance.now();
  private timer: NodeJS.Timeout | undefined;
  private ackTimer: NodeJS.Timeout | undefined;
  private settled = false;
  private aborted = false;
  private acknowledged: boolean;
  private resolve!: (outcome: SandboxOutcome) => void;
  private reject!: (error: OptimizerError) => void;

  constructor(private readonly options: BridgeRunOptions) {
    this.outcome = new Promise<SandboxOutcome>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    const { job } = options;
    this.acknowledged = options.acknowledged !== true;
    this.decoder = new FrameDecoder(
      job.limits.maxOutputBytes + FRAME_SLACK_BYTES,
      (line) => this.onLine(line),
      (error) => this.abort(error),
    );
    this.timer = setTimeout(() => {
      this.abort(timeoutError(job.limits.timeoutMs));
    }, job.limits.timeoutMs);
    if (!this.acknowledged && options.ackTimeoutMs !== undefined) {
      const ackMs = Math.min(options.ackTimeoutMs, job.limits.timeoutMs);
      this.ackTimer = setTimeout(() => {
        this.abort(
          new OptimizerError(
            ErrorCodes.SANDBOX_CRASHED,
            `The sandbox runner did not take the job within ${ackMs} ms (it is still busy with an earlier program) and was replaced.`,
            { details: { ackTimeoutMs: ackMs } },
          ),
        );
      }, ackMs);
    }
    const frame: RunFrame = {
      t: "run",
      id: job.id,
      code: job.code,
      state: job.state,
      servers: job.servers,
      limits: { maxOutputBytes: job.limits.maxOutputBytes, maxLogBytes: job.limits.maxLogBytes },
    };
    try {
      options.write(encodeFrame(frame));
    } catch (error) {
      this.fail(toOptimizerError(error, ErrorCodes.SANDBOX_CRASHED));
    }
  }

  get isSettled(): boolean {
    return this.settled;
  }

  /**
   * Whether the program may have started: false only while an acknowledging runner has not
   * answered `started` (a job that failed then can run again on a fresh runner).
   */
  get started(): boolean {
    return this.acknowledged;
  }

  /** Bytes from the guest's stdout; after the run settled, any frame gives the runner up. */
  push(chunk: Uint8Array | string): void {
    if (this.settled && (this.aborted || this.options.acknowledged !== true)) return;
    this.decoder.push(chunk);
  }

  /** The runner died or was killed; `error` says why (SANDBOX_MEMORY, SANDBOX_CRASHED, ...). */
  fail(error: OptimizerError): void {
    this.settle(undefined, error);
  }

  /** Ends the run (if it has not ended) and tells the sandbox to get rid of the runner, once. */
  abort(error: OptimizerError): void {
    this.settle(undefined, error);
    if (this.aborted) return;
    this.aborted = true;
    this.options.onAbort(error);
  }

  private onLine(line: string): void {
    let frame: GuestFrame;
    try {
      frame = parseGuestFrame(line);
    } catch (error) {
      this.abort(toOptimizerError(error, ErrorCodes.BRIDGE_PROTOCOL_ERROR));
      return;
    }
    // A prelude (re)starting announces itself; it carries no run data.
    if (frame.t === "ready") return;
    if (this.options.acknowledged === true) {
      if (!this.checkStrict(frame)) return;
    } else if (frame.t === "started" || frame.run !== this.options.job.id) {
      return; // a late frame from an earlier run
    }
    switch (frame.t) {
      case "call":
        this.onCall(frame);
        return;
      case "log":
        this.onLog(frame.level, frame.text);
        return;
      case "done":
        if (frame.logsTruncated) this.logsTruncated = true;
        this.settle({
          value: frame.value,
          state: frame.state as JsonObject,
          logs: this.logs,
          logsTruncated: this.logsTruncated,
          durationMs: performance.now() - this.startedAt,
          mode: this.options.mode,
        });
        return;
      case "error": {
        let code = guestErrorCode(frame.error.code, this.hostSentCodes);
        // A timeout the host did not tell the program about, before the run's deadline, is
        // the program's claim (the host's own calls may hit the execution's deadline first).
        if (
          code === ErrorCodes.SANDBOX_TIMEOUT &&
          !this.hostSentCodes.has(ErrorCodes.SANDBOX_TIMEOUT) &&
          performance.now() - this.startedAt + GUEST_DEADLINE_LEAD_MS <
            this.options.job.limits.timeoutMs
        ) {
          code = ErrorCodes.CODE_RUNTIME_ERROR;
        }
        const name =
          frame.error.name && frame.error.name !== "Error" ? `${frame.error.name}: ` : "";
        const message =
          code === ErrorCodes.CODE_RUNTIME_ERROR || code === ErrorCodes.CODE_SYNTAX_ERROR
            ? `${name}${frame.error.message}`
            : frame.error.message;
        this.settle(
          undefined,
          new OptimizerError(code, message, {
            details: frame.error.stack
              ? { stack: frame.error.stack, logs: this.logs }
              : { logs: this.logs },
          }),
        );
        return;
      }
    }
  }

  /** Holds a frame from an acknowledging runner to this run; false when it must not be used. */
  private checkStrict(frame: Exclude<GuestFrame, { t: "ready" }>): boolean {
    const id = this.options.job.id;
    if (this.settled) {
      this.abort(
        new OptimizerError(
          ErrorCodes.BRIDGE_PROTOCOL_ERROR,
          `The sandbox sent a "${frame.t}" frame after the run had ended; the runner was replaced.`,
        ),
      );
      return false;
    }
    if (!this.acknowledged) {
      if (frame.t === "started" && frame.run === id) {
        this.acknowledged = true;
        clearTimeout(this.ackTimer);
        return false;
      }
      this.abort(
        new OptimizerError(
          ErrorCodes.SANDBOX_CRASHED,
          "The sandbox runner was still busy with an earlier program when this job came and was replaced.",
        ),
      );
      return false;
    }
    if (frame.t === "started" || frame.run !== id) {
      this.abort(
        new OptimizerError(
          ErrorCodes.BRIDGE_PROTOCOL_ERROR,
          `The sandbox sent a "${frame.t}" frame for run ${JSON.stringify(frame.run)} during run ${JSON.stringify(id)}; the runner was replaced.`,
        ),
      );
      return false;
    }
    return true;
  }

  private onLog(level: LogEntry["level"], text: string): void {
    if (this.logsTruncated) return;
    const size = Buffer.byteLength(text);
    if (this.logBytes + size > this.options.job.limits.maxLogBytes) {
      this.logsTruncated = true;
      return;
    }
    this.logBytes += size;
    this.logs.push({ level, text });
  }

  private onCall(frame: CallFrame): void {
    if (this.callsInFlight >= MAX_CALLS_IN_FLIGHT) {
      this.waitingCalls.push(frame);
      return;
    }
    this.callsInFlight++;
    let request: GuestRequest;
    if (frame.kind === "tool") {
      request = {
        kind: "tool",
        server: frame.server,
        tool: frame.tool,
        args: frame.args,
        raw: frame.raw === true,
      };
    } else if (frame.kind === "search") {
      request = { kind: "search", query: frame.query, options: frame.options ?? {} };
    } else if (frame.kind === "describe") {
      request = { kind: "describe", name: frame.name };
    } else if (frame.kind === "skill") {
      request = { kind: "skill", name: frame.name, input: frame.input ?? {} };
    } else if (frame.kind === "context") {
      request = contextRequestOf(frame);
    } else if (frame.kind === "capabilities") {
      request = { kind: "capabilities" };
    } else {
      request = { kind: "handle", id: frame.handle };
    }
    let answer: Promise<unknown>;
    try {
      answer = this.options.host.call(request);
    } catch (error) {
      answer = Promise.reject(error);
    }
    answer
      .then(
        (value) => this.reply(this.answerFrame(frame.id, value)),
        (error: unknown) => this.reply(this.refusalFrame(frame.id, toOptimizerError(error))),
      )
      .finally(() => {
        this.callsInFlight--;
        // The next waiting call starts from the event loop, not from this microtask: calls that
        // fail at once (denied, past the deadline) must not drain a long queue in one turn and
        // hold off timers (this run's own deadline) and every other session meanwhile.
        if (!this.settled && this.nextWaiting < this.waitingCalls.length)
          setImmediate(() => this.startWaiting());
      });
  }

  private startWaiting(): void {
    if (this.settled || this.nextWaiting >= this.waitingCalls.length) return;
    const next = this.waitingCalls[this.nextWaiting++]!;
    if (this.nextWaiting === this.waitingCalls.length) {
      this.waitingCalls = [];
      this.nextWaiting = 0;
    }
    this.onCall(next);
  }

  /**
   * The result frame of a call. An answer JSON cannot carry (nested too deeply for the host
   * to encode, a BigInt) is refused with a typed error, so the program is not left waiting.
   */
  private answerFrame(id: number, value: unknown): string {
    try {
      return encodeFrame({ t: "result", id, ok: true, value: value as never });
    } catch (error) {
      return this.refusalFrame(
        id,
        new OptimizerError(
          ErrorCodes.RESULT_NOT_SERIALIZABLE,
          `The answer to this call cannot be passed to the program: ${error instanceof Error ? error.message : String(error)}.`,
        ),
      );
    }
  }

  private refusalFrame(id: number, error: OptimizerError): string {
    this.hostSentCodes.add(error.code);
    return encodeFrame({
      t: "result",
      id,
      ok: false,
      error: { code: error.code, message: error.message },
    });
  }

  private reply(data: string): void {
    if (this.settled) return;
    try {
      this.options.write(data);
    } catch (error) {
      this.fail(toOptimizerError(error, ErrorCodes.SANDBOX_CRASHED));
    }
  }

  private settle(outcome: SandboxOutcome | undefined, error?: OptimizerError): void {
    if (this.settled) return;
    this.settled = true;
    this.waitingCalls = [];
    clearTimeout(this.timer);
    clearTimeout(this.ackTimer);
    if (error) this.reject(error);
    else this.resolve(outcome!);
  }
}

/** A context frame as the host's request: only the fields the guest sent. */
function contextRequestOf(frame: CallFrame & { kind: "context" }): ContextRequest {
  return {
    kind: "context",
    op: frame.op,
    ...(frame.key !== undefined ? { key: frame.key } : {}),
    ...(frame.prefix !== undefined ? { prefix: frame.prefix } : {}),
    ...(frame.value !== undefined ? { value: frame.value } : {}),
    ...(frame.expected !== undefined ? { expected: frame.expected } : {}),
    ...(frame.absent !== undefined ? { absent: frame.absent } : {}),
    ...(frame.options !== undefined ? { options: frame.options } : {}),
  };
}
