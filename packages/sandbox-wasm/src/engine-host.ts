import { type ChildProcess, fork } from "node:child_process";
import { readFile } from "node:fs/promises";
import { ErrorCodes, OptimizerError } from "@mcp-optimizer/core";
import type { EngineInbound, EngineOutbound } from "./engine-messages.js";

/** What the host hears about one guest. */
export interface GuestListener {
  stdout(data: string): void;
  stderr(data: string): void;
  /** The guest ended; `error` says why when it did not end by itself. */
  exit(code: number, reason: string, error?: OptimizerError): void;
}

export interface EngineHostOptions {
  wasmPath: string;
  /** V8 heap ceiling of the engine process (--max-old-space-size), MiB. */
  heapMb: number;
  /** Resident memory ceiling of the engine process, MiB; over it the process is killed. */
  maxRssMb: number;
  /** How often the resident memory is read, ms. */
  memoryCheckIntervalMs: number;
  /** How long the process may take to load the engine, ms. */
  startTimeoutMs: number;
}

const PAGE_BYTES = 4096;

/** The file the engine process runs: the compiled .js beside this one, or the .ts in tests. */
function engineEntry(): string {
  const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
  return new URL(`./engine-process${ext}`, import.meta.url).pathname;
}

/**
 * One engine process as the host sees it: a killable Node child holding the Wasmer client
 * and the guests started in it. Killing it ends every guest inside at once.
 */
export class WasmerEngineHost {
  readonly ready: Promise<void>;
  /** Guests ever started here (for recycling). */
  started = 0;
  /** Ms Wasmer took to initialise and load the engine. */
  initMs = 0;
  private readonly child: ChildProcess;
  private readonly listeners = new Map<number, GuestListener>();
  private nextGid = 1;
  private dead = false;
  private deathError: OptimizerError | undefined;
  private memoryTimer: NodeJS.Timeout | undefined;
  private lastRssBytes = 0;
  private readonly onDeath = new Set<() => void>();

  constructor(private readonly options: EngineHostOptions) {
    this.child = fork(engineEntry(), [options.wasmPath], {
      // No secrets of the host reach the engine process: an empty environment.
      env: {},
      execArgv: [`--max-old-space-size=${options.heapMb}`, "--no-warnings"],
      stdio: ["ignore", "ignore", "pipe", "ipc"],
      serialization: "json",
    });
    // The engine process does not keep the host alive on its own: runs in flight hold the
    // host's event loop with their deadline timers.
    this.child.unref();
    (this.child.channel as { unref?: () => void } | undefined)?.unref?.();
    (this.child.stderr as { unref?: () => void } | null)?.unref?.();
    let engineStderr = "";
    this.child.stderr?.setEncoding("utf8");
    this.child.stderr?.on("data", (chunk: string) => {
      if (engineStderr.length < 8192) engineStderr += chunk;
    });
    this.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new OptimizerError(
            ErrorCodes.SANDBOX_UNAVAILABLE,
            `The wasm engine did not start within ${options.startTimeoutMs} ms.`,
          ),
        );
        this.kill();
      }, options.startTimeoutMs);
      this.child.on("message", (message: EngineOutbound) => {
        if (message.op === "ready") {
          clearTimeout(timer);
          this.initMs = message.initMs;
          resolve();
        } else if (message.op === "failed") {
          clearTimeout(timer);
          reject(
            new OptimizerError(
              ErrorCodes.SANDBOX_UNAVAILABLE,
              `The wasm engine failed to start: ${message.message}`,
            ),
          );
        } else {
          this.dispatch(message);
        }
      });
      this.child.on("exit", (code, signal) => {
        clearTimeout(timer);
        reject(
          new OptimizerError(
            ErrorCodes.SANDBOX_UNAVAILABLE,
            `The wasm engine process ended before it was ready (${signal ?? `exit ${code}`}). ${engineStderr.trim()}`,
          ),
        );
        this.onExit();
      });
    });
    this.ready.catch(() => {});
    this.child.on("error", () => this.kill());
    this.memoryTimer = setInterval(() => void this.checkMemory(), options.memoryCheckIntervalMs);
    this.memoryTimer.unref();
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return !this.dead;
  }

  /** Guests running here now. */
  get guests(): number {
    return this.listeners.size;
  }

  /** Resident memory at the last check, bytes. */
  get rssBytes(): number {
    return this.lastRssBytes;
  }

  whenDead(fn: () => void): void {
    if (this.dead) fn();
    else this.onDeath.add(fn);
  }

  /** Starts a guest; returns its id. The listener hears its output and its end. */
  startGuest(boot: string, listener: GuestListener): number {
    const gid = this.nextGid++;
    this.started++;
    if (this.dead) {
      queueMicrotask(() => listener.exit(-1, "killed", this.deathError));
      return gid;
    }
    this.listeners.set(gid, listener);
    this.post({ op: "start", gid, boot });
    return gid;
  }

  write(gid: number, data: string): void {
    if (this.listeners.has(gid)) this.post({ op: "write", gid, data });
  }

  /** Asks Wasmer to stop one guest. */
  killGuest(gid: number): void {
    if (this.listeners.has(gid)) this.post({ op: "kill", gid });
  }

  /** Kills the process and with it every guest inside; they end with `error`. */
  kill(error?: OptimizerError): void {
    if (this.dead) return;
    this.deathError =
      error ??
      new OptimizerError(ErrorCodes.SANDBOX_CRASHED, "The wasm engine process was stopped.");
    this.child.kill("SIGKILL");
    this.onExit();
  }

  private post(message: EngineInbound): void {
    if (this.dead || !this.child.connected) return;
    try {
      this.child.send(message);
    } catch {
      this.kill();
    }
  }

  private dispatch(message: EngineOutbound): void {
    if (message.op === "ready" || message.op === "failed") return;
    const listener = this.listeners.get(message.gid);
    if (!listener) return;
    if (message.op === "out") listener.stdout(message.data);
    else if (message.op === "err") listener.stderr(message.data);
    else if (message.op === "exit") {
      this.listeners.delete(message.gid);
      listener.exit(message.code, message.reason);
    }
  }

  private onExit(): void {
    if (this.dead && this.listeners.size === 0 && this.onDeath.size === 0) return;
    this.dead = true;
    clearInterval(this.memoryTimer);
    const error =
      this.deathError ??
      new OptimizerError(ErrorCodes.SANDBOX_CRASHED, "The wasm engine process ended unexpectedly.");
    const listeners = [...this.listeners.values()];
    this.listeners.clear();
    for (const l of listeners) l.exit(-1, "killed", error);
    const hooks = [...this.onDeath];
    this.onDeath.clear();
    for (const fn of hooks) fn();
  }

  private async checkMemory(): Promise<void> {
    if (this.dead || !this.child.pid) return;
    try {
      const statm = await readFile(`/proc/${this.child.pid}/statm`, "utf8");
      this.lastRssBytes = Number(statm.split(" ")[1]) * PAGE_BYTES;
    } catch {
      return;
    }
    if (this.lastRssBytes > this.options.maxRssMb * 1024 * 1024) {
      this.kill(
        new OptimizerError(
          ErrorCodes.SANDBOX_MEMORY,
          `The wasm engine went over its memory ceiling of ${this.options.maxRssMb} MB and was stopped. Work on less data at once.`,
          { details: { maxRssMb: this.options.maxRssMb } },
        ),
      );
    }
  }
}
