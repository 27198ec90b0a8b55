import type { Duplex } from "node:stream";
import { type BridgeRun, ErrorCodes, OptimizerError } from "@mcp-optimizer/core";
import type Docker from "dockerode";
import { engineUnavailable, statusOf } from "./docker-client.js";
import { StreamDemux } from "./stream-demux.js";

export interface RunnerStart {
  docker: Docker;
  /** Engine address for messages. */
  endpoint: string;
  create: Docker.ContainerCreateOptions;
  heapMb: number;
  memoryLimitMb: number;
  startTimeoutMs: number;
  maxStderrBytes: number;
}

const STDERR_TAIL_BYTES = 8 * 1024;
const READY_LINE_MAX = 4096;
/** After the container exits, how long to wait for the rest of its output (stderr explains the death). */
const DRAIN_MS = 1000;

/**
 * One container running the guest program, attached over one hijacked connection: frames
 * in on stdin, frames out on stdout, stderr kept as a short tail. It serves at most one
 * session and one bridge run at a time. Output while idle means something wrote around the
 * bridge: the container is removed.
 */
export class ContainerRunner {
  readonly heapMb: number;
  /** When the runner last finished a run (or became ready), for idle reaping. */
  lastUsed = Date.now();
  private container: Docker.Container | undefined;
  private socket: Duplex | undefined;
  private run: BridgeRun | undefined;
  private readyLine = "";
  private isReady = false;
  private dead = false;
  private killedByHost = false;
  private stderrTail = "";
  private stderrBytes = 0;
  private removal: Promise<void> | undefined;
  private exited: Promise<void> = Promise.resolve();

  private constructor(private readonly spec: RunnerStart) {
    this.heapMb = spec.heapMb;
  }

  /** Creates, attaches and starts a container and waits for the runner's ready frame. */
  static async start(spec: RunnerStart): Promise<ContainerRunner> {
    const runner = new ContainerRunner(spec);
    try {
      await runner.boot();
      return runner;
    } catch (error) {
      await runner.dispose();
      throw error;
    }
  }

  get alive(): boolean {
    return !this.dead;
  }

  get id(): string | undefined {
    return this.container?.id;
  }

  write(data: string): void {
    if (this.dead || !this.socket || this.socket.destroyed) {
      throw new OptimizerError(ErrorCodes.SANDBOX_CRASHED, "The sandbox container is gone.");
    }
    this.socket.write(data);
  }

  attach(run: BridgeRun): void {
    this.run = run;
    this.stderrBytes = 0;
  }

  detach(run: BridgeRun): void {
    if (this.run === run) this.run = undefined;
    this.lastUsed = Date.now();
  }

  /** Removes the container (in the background); `dispose()` waits for it. */
  kill(): void {
    if (this.dead) return;
    this.dead = true;
    this.killedByHost = true;
    this.socket?.destroy();
    const container = this.container;
    this.removal = container ? removeContainer(container) : Promise.resolve();
  }

  /** Removes the container and waits until the engine no longer has it. */
  async dispose(): Promise<void> {
    if (!this.removal) {
      this.dead = true;
      this.killedByHost = true;
      this.socket?.destroy();
      this.removal = this.container ? removeContainer(this.container) : Promise.resolve();
    }
    await this.removal;
    await this.exited;
  }

  private async boot(): Promise<void> {
    const { docker, endpoint } = this.spec;
    let step = "creating the container";
    try {
      this.container = await docker.createContainer(this.spec.create);
      step = "attaching to the container";
      const socket = (await this.container.attach({
        stream: true,
        stdin: true,
        stdout: true,
        stderr: true,
        hijack: true,
      })) as unknown as Duplex;
      this.socket = socket;
      const ready = this.listen(socket);
      ready.catch(() => {}); // awaited below; a failed start must not leave it unhandled
      // "next-exit" may be asked before start; "not-running" would answer at once.
      const exit = this.container.wait({ condition: "next-exit" }) as Promise<{
        StatusCode?: number;
      }>;
      step = "starting the container";
      await this.container.start();
      this.exited = this.watchExit(exit, socket);
      await ready;
    } catch (error) {
      if (error instanceof OptimizerError) throw error;
      throw engineUnavailable(error, endpoint, step);
    }
  }

  /** Routes the attached stream; resolves on the ready frame, rejects if it does not come. */
  private listen(socket: Duplex): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new OptimizerError(
            ErrorCodes.SANDBOX_UNAVAILABLE,
            `The sandbox container did not send its ready frame within ${this.spec.startTimeoutMs} ms.${this.stderrHint()}`,
          ),
        );
      }, this.spec.startTimeoutMs);
      const onReady = (error?: OptimizerError) => {
        clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      };
      const demux = new StreamDemux(
        (chunk) => this.onStdout(chunk, onReady),
        (chunk) => this.onStderr(chunk),
        (error) => {
          onReady(new OptimizerError(ErrorCodes.SANDBOX_UNAVAILABLE, error.message));
          this.kill();
        },
      );
      socket.on("data", (chunk: Buffer) => demux.push(chunk));
      socket.on("error", () => {}); // 'close' follows; the exit watcher reports the cause
      socket.on("close", () => {
        if (!this.isReady) {
          onReady(
            new OptimizerError(
              ErrorCodes.SANDBOX_UNAVAILABLE,
              `The sandbox container exited during start.${this.stderrHint()}`,
            ),
          );
        }
      });
    });
  }

  private onStdout(chunk: Buffer, onReady: (error?: OptimizerError) => void): void {
    if (this.isReady) {
      if (this.run) this.run.push(chunk);
      else this.kill();
      return;
    }
    this.readyLine += chunk.toString("utf8");
    const nl = this.readyLine.indexOf("\n");
    if (nl === -1) {
      if (this.readyLine.length > READY_LINE_MAX) this.kill();
      return;
    }
    const first = this.readyLine.slice(0, nl);
    const rest = this.readyLine.slice(nl + 1);
    this.readyLine = "";
    let ok = false;
    try {
      ok = (JSON.parse(first) as { t?: unknown }).t === "ready";
    } catch {}
    if (!ok || rest.length > 0) {
      onReady(
        new OptimizerError(
          ErrorCodes.SANDBOX_UNAVAILABLE,
          `The sandbox container did not start with a ready frame (is ${this.spec.create.Image} a Node image?): ${JSON.stringify(first.slice(0, 200))}`,
        ),
      );
      this.kill();
      return;
    }
    this.isReady = true;
    this.lastUsed = Date.now();
    onReady();
  }

  private onStderr(chunk: Buffer): void {
    this.stderrTail = (this.stderrTail + chunk.toString("utf8")).slice(-STDERR_TAIL_BYTES);
    if (!this.run) return;
    this.stderrBytes += chunk.length;
    if (this.stderrBytes > this.spec.maxStderrBytes) {
      this.run.abort(
        new OptimizerError(
          ErrorCodes.SANDBOX_OUTPUT_LIMIT,
          `The program wrote more than ${this.spec.maxStderrBytes} bytes to stderr and was stopped. Use console.log and keep output small.`,
          { details: { limitBytes: this.spec.maxStderrBytes } },
        ),
      );
    }
  }

  /** Settles a run in progress with why the container died. */
  private async watchExit(exit: Promise<{ StatusCode?: number }>, socket: Duplex): Promise<void> {
    let status: number | undefined;
    try {
      status = (await exit).StatusCode;
    } catch {}
    // The last of stderr (a V8 heap report, say) may still be in flight.
    if (!socket.destroyed && !socket.readableEnded) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, DRAIN_MS);
        socket.once("close", () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const wasKilled = this.killedByHost;
    this.dead = true;
    if (!wasKilled) this.removal ??= removeContainer(this.container!);
    this.run?.fail(this.classifyExit(status));
  }

  private classifyExit(status: number | undefined): OptimizerError {
    if (this.killedByHost) {
      return new OptimizerError(
        ErrorCodes.SANDBOX_CRASHED,
        "The sandbox container was stopped by the host.",
      );
    }
    const tail = this.stderrTail;
    if (/heap out of memory|Reached heap limit|Allocation failed/i.test(tail)) {
      return new OptimizerError(
        ErrorCodes.SANDBOX_MEMORY,
        `The program used more than the ${this.spec.heapMb} MB heap limit and was stopped. Process data in smaller pieces or raise maxMemoryMb.`,
        { details: { maxMemoryMb: this.spec.heapMb } },
      );
    }
    // Inside a container nothing but the kernel's OOM killer sends SIGKILL unasked (137 = 128 + 9).
    if (status === 137) {
      return new OptimizerError(
        ErrorCodes.SANDBOX_MEMORY,
        `The program went over the container's ${this.spec.memoryLimitMb} MB memory limit and was killed. Process data in smaller pieces or raise memoryLimitMb.`,
        { details: { memoryLimitMb: this.spec.memoryLimitMb, exitCode: status } },
      );
    }
    const stderr = tail.trim().split("\n").slice(-5).join("\n");
    return new OptimizerError(
      ErrorCodes.SANDBOX_CRASHED,
      `The sandbox container died (exit code ${status ?? "unknown"})${stderr ? `: ${stderr}` : ""}. A fresh container serves the next execution.`,
      { details: { exitCode: status } },
    );
  }

  private stderrHint(): string {
    const tail = this.stderrTail.trim().split("\n").slice(-3).join("\n");
    return tail ? ` Its stderr: ${tail}` : "";
  }
}

/** Force-removes a container and waits until it is gone, whoever removes it (AutoRemove races us). */
export async function removeContainer(container: Docker.Container): Promise<void> {
  try {
    await container.remove({ force: true });
    return;
  } catch (error) {
    if (statusOf(error) === 404) return;
    if (statusOf(error) !== 409) return; // the engine went away: nothing more we can do here
  }
  // 409: removal already in progress (AutoRemove): wait for it to finish.
  try {
    await container.wait({ condition: "removed" });
  } catch {}
}
