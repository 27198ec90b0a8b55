import { existsSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import {
  ErrorCodes,
  guestPreludeSource,
  OptimizerError,
  type Sandbox,
  type SandboxCapabilities,
  type SandboxOpenOptions,
  type SandboxPoolStats,
  type SandboxSession,
} from "@mcp-optimizer/core";
import { WasmerEngineHost } from "./engine-host.js";
import { guestShimsSource } from "./guest-shims.js";
import { WasmGuest } from "./wasm-guest.js";
import {
  assertEngineBuilt,
  resolveSettings,
  type WasmSandboxOptions,
  type WasmSandboxSettings,
} from "./wasm-sandbox-options.js";
import { WasmSandboxSession } from "./wasm-sandbox-session.js";

/** How long a tainted engine process may go on serving runs already under way, ms. */
const TAINTED_ENGINE_DRAIN_MS = 2000;

/** What engine/engine.json (written by the build) says about the module. */
export interface EngineInfo {
  engine: string;
  quickjs: string;
  source: string;
  target: string;
  wasmBytes: number;
  wasmSha256: string;
}

function readEngineInfo(wasmPath: string): EngineInfo | undefined {
  const file = join(dirname(wasmPath), "engine.json");
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as EngineInfo;
  } catch {
    return undefined;
  }
}

function wasmerVersion(): string {
  try {
    const require = createRequire(import.meta.url);
    // The package exports no ./package.json: find it above the entry point.
    const pkgPath = join(dirname(dirname(require.resolve("@wasmer/sdk"))), "package.json");
    return (JSON.parse(readFileSync(pkgPath, "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

/**
 * QuickJS compiled to wasm32-wasi, run by @wasmer/sdk inside a killable Node child (the
 * engine process). One long-lived guest per session; guests have no filesystem of the host,
 * no network and no environment: the bridge over stdio is their only way out. See
 * docs/adr/0006-wasm-sandbox.md.
 */
export class WasmSandbox implements Sandbox {
  readonly mode: string;
  readonly settings: WasmSandboxSettings;
  private engine: WasmerEngineHost | undefined;
  private readonly engines = new Set<WasmerEngineHost>();
  private readonly guests = new Map<WasmerEngineHost, Set<WasmGuest>>();
  private readonly pool: WasmGuest[] = [];
  private readonly sessions = new Set<WasmSandboxSession>();
  private filling: Promise<void> | undefined;
  private closed = false;
  private bootLine: string | undefined;
  private readonly info: EngineInfo | undefined;
  /** Engine processes started and killed, for capabilities and tests. */
  readonly counters = { enginesStarted: 0, enginesKilled: 0, guestsStarted: 0 };

  constructor(options: WasmSandboxOptions = {}) {
    this.settings = resolveSettings(options);
    this.mode = this.settings.mode;
    this.info = readEngineInfo(this.settings.wasmPath);
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
        runtime: `@wasmer/sdk ${wasmerVersion()} in a killable Node child process`,
        wasmBytes: built ? statSync(this.settings.wasmPath).size : undefined,
        wasmSha256: this.info?.wasmSha256,
        heapLimitMb: this.settings.maxMemoryMb,
        engineRssLimitMb: this.settings.maxEngineRssMb,
        engineHeapMb: this.settings.engineHeapMb,
        killGraceMs: this.settings.killGraceMs,
        idleTimeoutMs: this.settings.idleTimeoutMs,
        poolSize: this.settings.poolSize,
        idleGuests: this.pool.length,
        activeSessions: this.sessions.size,
        network: "none",
        filesystem: "none (no host mounts; an empty in-memory filesystem per guest)",
        environment: "empty",
        globals:
          "ES2023 plus setTimeout, TextEncoder/TextDecoder, URL, atob/btoa, structuredClone, a minimal en-US Intl",
        enginesStarted: this.counters.enginesStarted,
        enginesKilled: this.counters.enginesKilled,
      },
    };
  }

  /** Process ids of the live engine processes (diagnostics, tests). */
  enginePids(): number[] {
    return [...this.engines].flatMap((e) => (e.alive && e.pid !== undefined ? [e.pid] : []));
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
    // The first guest is taken now, so the first execution does not wait for one.
    await session.prepare();
    return session;
  }

  /** A ready guest: from the pool when it has one, else a new one. */
  async acquire(): Promise<WasmGuest> {
    if (this.closed) {
      throw new OptimizerError(ErrorCodes.SANDBOX_UNAVAILABLE, "The wasm sandbox is closed.");
    }
    while (this.pool.length > 0) {
      const guest = this.pool.shift()!;
      if (guest.isAlive && guest.engine.alive) {
        this.refill();
        await guest.ready;
        return guest;
      }
    }
    this.refill();
    const guest = await this.startGuest();
    await guest.ready;
    return guest;
  }

  release(session: WasmSandboxSession): void {
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
    for (const engine of this.engines) engine.kill();
    this.engines.clear();
    this.engine = undefined;
  }

  private boot(): string {
    this.bootLine ??= `${JSON.stringify({
      t: "boot",
      shims: guestShimsSource(),
      prelude: guestPreludeSource(),
      engine: `${this.info?.engine ?? "quickjs"} (wasm32-wasi, @wasmer/sdk ${wasmerVersion()})`,
    })}\n`;
    return this.bootLine;
  }

  /** The engine process new guests go to; a fresh one once the current one is used up. */
  private async currentEngine(): Promise<WasmerEngineHost> {
    let engine = this.engine;
    if (!engine?.alive || engine.started >= this.settings.recycleAfterGuests) {
      if (engine?.alive) this.retire(engine);
      engine = new WasmerEngineHost({
        wasmPath: this.settings.wasmPath,
        heapMb: this.settings.engineHeapMb,
        maxRssMb: this.settings.maxEngineRssMb,
        memoryCheckIntervalMs: this.settings.memoryCheckIntervalMs,
        startTimeoutMs: this.settings.startTimeoutMs,
      });
      this.counters.enginesStarted++;
      this.engine = engine;
      this.engines.add(engine);
      const started = engine;
      this.guests.set(engine, new Set());
      engine.whenDead(() => {
        this.engines.delete(started);
        this.guests.delete(started);
        this.counters.enginesKilled++;
        if (this.engine === started) this.engine = undefined;
      });
    }
    try {
      await engine.ready;
    } catch (error) {
      if (this.engine === engine) this.engine = undefined;
      throw error;
    }
    return engine;
  }

  /** An engine that takes no new guests ends once its last guest has. */
  private retire(engine: WasmerEngineHost): void {
    // Pooled guests on it are dropped; sessions keep theirs until they end.
    for (let i = this.pool.length - 1; i >= 0; i--) {
      const guest = this.pool[i]!;
      if (guest.engine === engine) {
        this.pool.splice(i, 1);
        guest.kill();
      }
    }
    const check = () => {
      if (engine.guests === 0) engine.kill();
    };
    check();
    if (engine.alive) {
      const timer = setInterval(() => {
        if (!engine.alive) clearInterval(timer);
        else check();
      }, 1000);
      timer.unref();
    }
  }

  private async startGuest(): Promise<WasmGuest> {
    const engine = await this.currentEngine();
    this.counters.guestsStarted++;
    const guest = new WasmGuest(engine, this.boot(), {
      mode: this.mode,
      startTimeoutMs: this.settings.startTimeoutMs,
      killGraceMs: this.settings.killGraceMs,
      onTaint: (g) => this.taint(g.engine),
    });
    const set = this.guests.get(engine);
    set?.add(guest);
    guest.onDeath((g) => set?.delete(g));
    return guest;
  }

  /**
   * A busy guest was killed and may spin on inside its engine process: new guests go to a
   * fresh process, and this one is killed as soon as no other guest in it is running a job
   * (at most TAINTED_ENGINE_DRAIN_MS later). Idle guests in it end with it; their sessions
   * get fresh guests on their next execution.
   */
  private taint(engine: WasmerEngineHost): void {
    if (!engine.alive) return;
    if (this.engine === engine) this.engine = undefined;
    for (let i = this.pool.length - 1; i >= 0; i--) {
      if (this.pool[i]!.engine === engine) this.pool.splice(i, 1);
    }
    const deadline = Date.now() + TAINTED_ENGINE_DRAIN_MS;
    const check = () => {
      if (!engine.alive) return;
      const busy = [...(this.guests.get(engine) ?? [])].some((g) => g.isBusy);
      if (!busy || Date.now() >= deadline) {
        engine.kill(
          new OptimizerError(
            ErrorCodes.SANDBOX_CRASHED,
            "The wasm engine process was replaced after a guest in it overran its deadline.",
          ),
        );
        return;
      }
      setTimeout(check, 20).unref();
    };
    // Let the tainted guest's own run settle first.
    setTimeout(check, 0).unref();
    this.refill();
  }

  /** Starts guests in the background until the pool is full. */
  private refill(): void {
    if (this.closed || this.filling || this.settings.poolSize === 0) return;
    const filling = (async () => {
      while (!this.closed && this.pool.filter((g) => g.isAlive).length < this.settings.poolSize) {
        let guest: WasmGuest;
        try {
          guest = await this.startGuest();
          await guest.ready;
        } catch {
          return; // cannot start guests right now; acquire() will report why
        }
        if (this.closed) {
          guest.kill();
          return;
        }
        this.pool.push(guest);
        guest.onDeath((g) => {
          const i = this.pool.indexOf(g);
          if (i !== -1) this.pool.splice(i, 1);
        });
      }
    })();
    this.filling = filling;
    void filling.finally(() => {
      if (this.filling === filling) this.filling = undefined;
    });
  }
}

/** Creates the wasm sandbox. Engine processes start on first use (or `warm()`). */
export function createWasmSandbox(options: WasmSandboxOptions = {}): WasmSandbox {
  return new WasmSandbox(options);
}
