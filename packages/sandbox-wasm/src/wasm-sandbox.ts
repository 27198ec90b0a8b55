import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  ErrorCodes,
  guestPreludeSource,
  OptimizerError,
  type Sandbox,
  type SandboxCapabilities,
  type SandboxHost,
  type SandboxJob,
  type SandboxOpenOptions,
  type SandboxPoolStats,
  type SandboxSession,
} from "@mcp-optimizer/core";
import { loadEngineModule } from "./engine-module.js";
import { guestShimPartsSource, guestShimsSource } from "./guest-shims.js";
import { GuestThread } from "./guest-thread.js";
import { WasmGuest } from "./wasm-guest.js";
import {
  assertEngineBuilt,
  resolveSettings,
  type WasmSandboxOptions,
  type WasmSandboxSettings,
} from "./wasm-sandbox-options.js";
import { WasmSandboxSession } from "./wasm-sandbox-session.js";

/** What engine/engine.json (written by the build) says about the module. */
export interface EngineInfo {
  engine: string;
  quickjs: string;
  source: string;
  target: string;
  wasmBytes: number;
  wasmSha256: string;
}

/** Engines (by path) whose run path this process has run once: see WasmSandbox.warmUp. */
const warmedEngines = new Set<string>();

const WARM_UP_JOB: SandboxJob = {
  id: "warm-up",
  code: "const r = await warm.up({ n: 1 }); return { n: r.n + 1, s: JSON.stringify(state) };",
  servers: [{ name: "warm", global: "warm", tools: ["up"] }],
  state: { warm: true },
  limits: { timeoutMs: 10_000, maxMemoryMb: 64, maxOutputBytes: 1 << 16, maxLogBytes: 1 << 10 },
};
const WARM_UP_HOST: SandboxHost = { call: async () => ({ n: 1 }) };

function readEngineInfo(wasmPath: string): EngineInfo | undefined {
  const file = join(dirname(wasmPath), "engine.json");
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as EngineInfo;
  } catch {
    return undefined;
  }
}

/**
 * QuickJS compiled to wasm32-wasi, each guest a WebAssembly instance of its own on a worker
 * thread of its own (guest-worker.ts), with nothing but the bridge over stdio to reach. A
 * guest serves one session; an idle session's guest is released, and fresh guests are kept
 * ready in a pool. See docs/adr/0010-wasm-guests-on-worker-threads.md.
 */
export class WasmSandbox implements Sandbox {
  readonly mode: string;
  readonly settings: WasmSandboxSettings;
  private readonly threads = new Set<GuestThread>();
  private readonly pool: WasmGuest[] = [];
  /** acquire() calls waiting for the next guest the pool gets (undefined: none is coming). */
  private readonly waiting: ((guest: WasmGuest | undefined) => void)[] = [];
  private readonly sessions = new Set<WasmSandboxSession>();
  private filling: Promise<void> | undefined;
  private closed = false;
  private bootLine: string | undefined;
  private readonly info: EngineInfo | undefined;
  /** Executions running now, across sessions. @internal */
  runsUnderWay = 0;
  /** Threads started and ended, guests started and killed, for capabilities and tests. */
  readonly counters = { threadsStarted: 0, threadsEnded: 0, guestsStarted: 0, guestsKilled: 0 };

  constructor(options: WasmSandboxOptions = {}) {
    this.settings = resolveSettings(options);
    this.mode = this.settings.mode;
    this.info = readEngineInfo(this.settings.wasmPath);
    // Start the pool now (the engine's compile, a thread, a guest's boot: ~100-300 ms), so
    // that the first execution after the host starts takes a ready guest.
    if (existsSync(this.settings.wasmPath)) this.refill();
  }

  async capabilities(): Promise<SandboxCapabilities> {
    const built = existsSync(this.settings.wasmPath);
    const engine = this.info?.engine ?? "quickjs";
    return {
      mode: this.mode,
      available: built && !this.closed,
      ...(built ? {} : { reason: `engine not built: ${this.settings.wasmPath} is missing` }),
      ...(this.closed ? { reason: "the sandbox is closed" } : {}),
      isolation: "language",
      details: {
        engine,
        engineSource: this.info?.source,
        target: "wasm32-wasi",
        runtime: `V8 WebAssembly (Node ${process.versions.node}), one instance per guest on a worker thread of its own`,
        wasmBytes: built ? statSync(this.settings.wasmPath).size : undefined,
        wasmSha256: this.info?.wasmSha256,
        heapLimitMb: this.settings.maxMemoryMb,
        killGraceMs: this.settings.killGraceMs,
        idleTimeoutMs: this.settings.idleTimeoutMs,
        poolSize: this.settings.poolSize,
        idleGuests: this.pool.length,
        activeSessions: this.sessions.size,
        liveThreads: this.threads.size,
        network: "none",
        filesystem: "none (no WASI file or directory exists for the guest)",
        environment: "empty",
        globals:
          "ES2023 plus setTimeout, TextEncoder/TextDecoder, URL, atob/btoa, structuredClone, a minimal en-US Intl",
        threadsStarted: this.counters.threadsStarted,
        threadsEnded: this.counters.threadsEnded,
        guestsKilled: this.counters.guestsKilled,
      },
    };
  }

  /** Guest threads alive now (diagnostics, tests). */
  liveThreads(): number {
    return this.threads.size;
  }

  poolStats(): SandboxPoolStats[] {
    return [
      {
        mode: this.mode,
        idle: this.pool.filter((g) => g.isAlive).length,
        active: this.sessions.size,
      },
    ];
  }

  async open(options: SandboxOpenOptions = {}): Promise<SandboxSession> {
    if (this.closed) {
      throw new OptimizerError(ErrorCodes.SANDBOX_UNAVAILABLE, "The wasm sandbox is closed.");
    }
    assertEngineBuilt(this.settings.wasmPath);
    const memoryMb = Math.min(options.maxMemoryMb ?? this.settings.maxMemoryMb, 2048);
    const session = new WasmSandboxSession(
      this,
      memoryMb,
      this.settings.idleTimeoutMs,
      options.sessionId,
    );
    this.sessions.add(session);
    // No guest yet: the first execution takes one from the pool, which starts filling now.
    this.refill();
    return session;
  }

  /** A fresh, ready guest: from the pool when it has one, else a new one. @internal */
  async acquire(): Promise<WasmGuest> {
    if (this.closed) {
      throw new OptimizerError(ErrorCodes.SANDBOX_UNAVAILABLE, "The wasm sandbox is closed.");
    }
    while (this.pool.length > 0) {
      const guest = this.pool.shift()!;
      if (guest.isAlive) {
        this.refill();
        await guest.ready;
        return guest;
      }
    }
    this.refill();
    if (this.filling) {
      // A guest for the pool is on its way: take it rather than start one more beside it.
      const next = await new Promise<WasmGuest | undefined>((resolve) =>
        this.waiting.push(resolve),
      );
      if (next) return next;
    }
    const guest = await this.startGuest();
    await guest.ready;
    return guest;
  }

  /** A fresh guest that is ready now, without waiting for one to start; undefined if none is. @internal */
  takeReady(): WasmGuest | undefined {
    const i = this.pool.findIndex((g) => g.isIdle);
    if (i === -1) return undefined;
    const [guest] = this.pool.splice(i, 1);
    this.refill();
    return guest;
  }

  /**
   * Gives back a session's guest: it ends cleanly, and its thread serves a fresh guest for
   * the pool (never the same guest for another session) or ends. @internal
   */
  giveBack(guest: WasmGuest): void {
    guest.release();
  }

  /** @internal */
  forget(session: WasmSandboxSession): void {
    this.sessions.delete(session);
  }

  /** Warms the pool; resolves when it is full (or cannot be filled). */
  async warm(): Promise<void> {
    this.refill();
    await this.filling;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const sessions = [...this.sessions];
    await Promise.all(sessions.map((s) => s.close()));
    this.pool.length = 0;
    for (const thread of this.threads) thread.terminate();
    this.threads.clear();
  }

  private boot(): string {
    this.bootLine ??= `${JSON.stringify({
      t: "boot",
      shims: guestShimsSource(),
      shimParts: guestShimPartsSource(),
      prelude: guestPreludeSource(),
      engine: `${this.info?.engine ?? "quickjs"} (wasm32-wasi, V8 WebAssembly)`,
    })}\n`;
    return this.bootLine;
  }

  /** Synchronous, like startGuest() up to the boot frame: see loadEngineModule. */
  private newThread(): GuestThread {
    const module = loadEngineModule(this.settings.wasmPath);
    if (this.closed) {
      throw new OptimizerError(ErrorCodes.SANDBOX_UNAVAILABLE, "The wasm sandbox is closed.");
    }
    const thread = new GuestThread(module);
    this.counters.threadsStarted++;
    this.threads.add(thread);
    thread.whenDead(() => {
      this.threads.delete(thread);
      this.counters.threadsEnded++;
    });
    return thread;
  }

  private async startGuest(thread?: GuestThread): Promise<WasmGuest> {
    const on = thread ?? this.newThread();
    this.counters.guestsStarted++;
    const guest = new WasmGuest(on, this.boot(), {
      mode: this.mode,
      startTimeoutMs: this.settings.startTimeoutMs,
      killGraceMs: this.settings.killGraceMs,
      onKill: () => this.counters.guestsKilled++,
    });
    guest.onDeath((g) => this.afterGuest(g));
    return guest;
  }

  /** A guest ended: its thread, if free, serves a fresh guest for the pool, or ends. */
  private afterGuest(guest: WasmGuest): void {
    const i = this.pool.indexOf(guest);
    if (i !== -1) this.pool.splice(i, 1);
    const thread = guest.thread;
    if (!thread.free) return;
    if (this.closed || thread.isDemoted || this.livePooled() >= this.settings.poolSize) {
      thread.terminate();
      return;
    }
    void this.startGuest(thread).then((fresh) => this.addToPool(fresh));
  }

  private livePooled(): number {
    return this.pool.filter((g) => g.isAlive).length;
  }

  private async addToPool(guest: WasmGuest): Promise<void> {
    try {
      await guest.ready;
    } catch {
      return;
    }
    const waiter = this.waiting.shift();
    if (waiter && guest.isIdle) {
      waiter(guest);
      return;
    }
    if (waiter) waiter(undefined);
    if (this.closed || this.livePooled() >= this.settings.poolSize) {
      guest.release();
      return;
    }
    this.pool.push(guest);
  }

  /**
   * The first guest of this process and engine runs one program of ours (a tool call and a
   * result) before it joins the pool: V8 compiles the engine's functions when they first run,
   * and the run path's would otherwise be compiled during the first execution (~20-40 ms).
   * Only our program runs; like every run it gets a realm of its own, dropped afterwards.
   */
  private async warmUp(guest: WasmGuest): Promise<void> {
    if (warmedEngines.has(this.settings.wasmPath)) return;
    warmedEngines.add(this.settings.wasmPath);
    // An execution waiting for this guest warms the same code itself, sooner.
    if (this.waiting.length > 0) return;
    await guest.run(WARM_UP_JOB, WARM_UP_HOST, this.settings.maxMemoryMb).catch(() => {
      // a guest that cannot run this is replaced
      guest.kill();
    });
  }

  /** Starts guests in the background until the pool is full. */
  private refill(): void {
    if (this.closed || this.filling || this.settings.poolSize === 0) return;
    const filling = (async () => {
      while (!this.closed && this.livePooled() < this.settings.poolSize) {
        let guest: WasmGuest;
        try {
          guest = await this.startGuest();
          await guest.ready;
          await this.warmUp(guest);
        } catch {
          return; // cannot start guests right now; acquire() will report why
        }
        await this.addToPool(guest);
      }
    })();
    this.filling = filling;
    void filling.finally(() => {
      if (this.filling === filling) this.filling = undefined;
      // Whoever still waits gets no guest from the pool: they start their own.
      for (const waiter of this.waiting.splice(0)) waiter(undefined);
    });
  }
}

/** Creates the wasm sandbox; its pool of guests starts filling at once (`warm()` waits for it). */
export function createWasmSandbox(options: WasmSandboxOptions = {}): WasmSandbox {
  return new WasmSandbox(options);
}
