import { readFileSync } from "node:fs";
import { setPriority } from "node:os";
import type { Readable } from "node:stream";
import { MessageChannel, type MessagePort, Worker } from "node:worker_threads";
import { ErrorCodes, OptimizerError } from "@mcp-optimizer/core";
import type { WorkerInbound, WorkerOutbound } from "./guest-messages.js";

/** What the host hears about the guest a thread runs. */
export interface GuestListener {
  stdout(data: Uint8Array): void;
  stderr(data: string): void;
  /** The guest ended; `error` says why when it did not end by itself. */
  exit(code: number, reason: string, error?: OptimizerError): void;
}

/** The file the thread runs: the compiled .js beside this one, or the .ts in tests. */
function workerEntry(): URL {
  const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
  return new URL(`./guest-worker${ext}`, import.meta.url);
}

/** Scheduling priority (nice) of a demoted thread: the lowest. */
const DEMOTED_PRIORITY = 19;

/** V8 heap of a guest thread, MiB: it holds only the WASI glue; guest memory is wasm memory. */
const THREAD_HEAP_MB = 16;

/** Frames longer than this travel as UTF-8 bytes (transferred), shorter ones as strings: measured in bench/channel.ts. */
const BYTES_FROM_CHARS = 64 * 1024;
const encoder = new TextEncoder();

/** What a stream that nobody read holds (at most 8 KB of it). */
function bufferedText(stream: Readable): string {
  const chunk: unknown = stream.read();
  return chunk == null ? "" : String(chunk).slice(0, 8192);
}

// Slots of the shared counters (guest-worker.ts has the same): input posted, output taken.
const POSTED = 0;
const TAKEN = 1;

/**
 * The host side of one guest thread (guest-worker.ts): runs one guest at a time, each a fresh
 * WebAssembly instance. A guest that ended by itself leaves the thread free for the next one;
 * `terminate()` ends the thread and the guest in it, whatever the guest is doing.
 */
export class GuestThread {
  /** Guests started on this thread. */
  started = 0;
  private readonly worker: Worker;
  private readonly input: MessagePort;
  private readonly signal: Int32Array;
  private current: { id: number; listener: GuestListener } | undefined;
  private dead = false;
  private deathError: OptimizerError | undefined;
  private readonly deathHooks: (() => void)[] = [];
  private nextId = 1;
  /** The thread's operating-system id, once it said (Linux only). */
  private tid: number | undefined;
  /** Its priority was lowered; only a process with privileges could raise it again. */
  private demoted = false;

  constructor(module: WebAssembly.Module) {
    const { port1, port2 } = new MessageChannel();
    this.input = port1;
    this.signal = new Int32Array(new SharedArrayBuffer(16));
    this.worker = new Worker(workerEntry(), {
      workerData: { module, input: port2, signal: this.signal },
      transferList: [port2],
      // Nothing of the host's environment reaches the thread.
      env: {},
      argv: [],
      execArgv: [],
      // Nothing of the thread reaches the host's stdout (in `serve`, the MCP channel).
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: THREAD_HEAP_MB, maxYoungGenerationSizeMb: 4 },
    });
    this.worker.on("message", (message: WorkerOutbound) => this.dispatch(message));
    this.worker.on("error", (error) => {
      this.deathError ??= new OptimizerError(
        ErrorCodes.SANDBOX_CRASHED,
        `The wasm guest thread failed: ${error.message}`,
      );
    });
    this.worker.on("exit", () => this.onExit(bufferedText(this.worker.stderr)));
    // A thread does not keep the host alive (a pool is started with the sandbox, and a host
    // that never closes it must still exit): runs in flight hold the event loop with their
    // deadline timers. unref() comes after the listeners (a 'message' listener refs the
    // worker again), and its stdio is not read while it lives (a worker's stdio stream being
    // read holds the host, whatever unref() says): nothing in the thread writes there but
    // Node itself when the thread fails, and stderr is read when it has ended.
    this.worker.unref();
  }

  get alive(): boolean {
    return !this.dead;
  }

  /** No guest runs on the thread. */
  get free(): boolean {
    return !this.dead && this.current === undefined;
  }

  /** Whether its priority was lowered (such a thread is not given to another session). */
  get isDemoted(): boolean {
    return this.demoted;
  }

  /** CPU time the thread has used, ms (Linux; undefined elsewhere). */
  cpuMs(): number | undefined {
    if (this.tid === undefined || this.dead) return undefined;
    try {
      const stat = readFileSync(`/proc/self/task/${this.tid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // utime + stime, in clock ticks of 10 ms
      return (Number(fields[11]) + Number(fields[12])) * 10;
    } catch {
      return undefined;
    }
  }

  /**
   * Lowers the thread's scheduling priority to the least, so that a long run gives way to
   * short runs of other sessions when the cores are busy. Linux only; elsewhere nothing.
   */
  demote(): void {
    if (this.demoted || this.dead || this.tid === undefined) return;
    try {
      setPriority(this.tid, DEMOTED_PRIORITY);
      this.demoted = true;
    } catch {
      // the thread is gone, or the system does not allow it: the priority stays
    }
  }

  get threadId(): number {
    return this.worker.threadId;
  }

  /** Starts a guest; the thread must be free. */
  start(boot: string, listener: GuestListener): void {
    if (this.dead) {
      queueMicrotask(() => listener.exit(-1, "killed", this.deathError));
      return;
    }
    if (this.current) throw new Error("GuestThread.start: a guest is running");
    const id = this.nextId++;
    this.started++;
    this.current = { id, listener };
    this.send({ op: "start", id, boot } satisfies WorkerInbound);
  }

  /** Text for the guest's stdin. */
  write(data: string): void {
    if (!this.current) return;
    if (data.length <= BYTES_FROM_CHARS) this.send(data);
    else this.send(encoder.encode(data));
  }

  /** Closes the guest's stdin: the runner ends by itself and the thread becomes free. */
  end(): void {
    if (this.current) this.send(null);
  }

  whenDead(fn: () => void): void {
    if (this.dead) fn();
    else this.deathHooks.push(fn);
  }

  /** Ends the thread and the guest in it; the guest ends with `error`. */
  terminate(error?: OptimizerError): void {
    if (this.dead) return;
    this.deathError ??=
      error ?? new OptimizerError(ErrorCodes.SANDBOX_CRASHED, "The wasm guest was stopped.");
    void this.worker.terminate();
    // Report at once: terminate() has stopped JavaScript and wasm in the thread by the time
    // the thread is gone, and nothing more of this guest is read.
    this.onExit("");
  }

  private send(message: WorkerInbound | string | Uint8Array | null): void {
    if (message instanceof Uint8Array)
      this.input.postMessage(message, [message.buffer as ArrayBuffer]);
    else this.input.postMessage(message);
    Atomics.add(this.signal, POSTED, 1);
    Atomics.notify(this.signal, POSTED);
  }

  private dispatch(message: WorkerOutbound): void {
    if (message.op === "thread") {
      this.tid = message.tid;
      return;
    }
    const current = this.current;
    if (!current || message.id !== current.id) return;
    if (message.op === "out") {
      current.listener.stdout(message.data);
      // Taken: the thread may send more (it holds the guest while too much is in flight).
      Atomics.add(this.signal, TAKEN, message.data.length);
      Atomics.notify(this.signal, TAKEN);
    } else if (message.op === "err") current.listener.stderr(message.data);
    else {
      this.current = undefined;
      const reason = message.message ? `${message.reason}: ${message.message}` : message.reason;
      current.listener.exit(
        message.code,
        reason,
        message.reason === "violation"
          ? new OptimizerError(
              ErrorCodes.BRIDGE_PROTOCOL_ERROR,
              `The wasm guest was stopped: ${message.message}.`,
            )
          : undefined,
      );
    }
  }

  private onExit(stderr: string): void {
    if (this.dead) return;
    this.dead = true;
    this.input.close();
    const current = this.current;
    this.current = undefined;
    const error =
      this.deathError ??
      new OptimizerError(
        ErrorCodes.SANDBOX_CRASHED,
        `The wasm guest thread ended unexpectedly.${stderr ? ` ${stderr.trim().slice(0, 500)}` : ""}`,
      );
    current?.listener.exit(-1, "killed", error);
    for (const fn of this.deathHooks.splice(0)) fn();
  }
}
