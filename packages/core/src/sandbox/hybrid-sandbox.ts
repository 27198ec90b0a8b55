import { randomUUID } from "node:crypto";
import type {
  ExecutionHints,
  Sandbox,
  SandboxCapabilities,
  SandboxHost,
  SandboxJob,
  SandboxOpenOptions,
  SandboxOutcome,
  SandboxPoolStats,
  SandboxSession,
} from "../contracts/sandbox.js";
import { ErrorCodes, hasErrorCode, OptimizerError, toOptimizerError } from "../errors.js";
import { SerialQueue } from "./serial-queue.js";

/** One routing rule: when `when(hints)` holds, try `modes` in that order. */
export interface HybridRule {
  /** A name for decisions, logs and metrics. */
  name: string;
  /** Whether the rule applies to an execution, from the hints the engine filled in. */
  when: (hints: ExecutionHints) => boolean;
  /** Modes to try, most preferred first; modes with no sandbox configured are skipped. */
  modes: string[];
}

/** What the hybrid sandbox decided for one execution; handed to `onDecision`. */
export interface HybridDecision {
  sessionId: string;
  jobId: string;
  hints: ExecutionHints;
  /** The rule that matched, or "default" when none did. */
  rule: string;
  /** The modes in the order they were considered (an explicit `preferMode` first). */
  candidates: string[];
  /** The mode that runs the job; undefined when none could. */
  mode: string | undefined;
  /** Modes passed over, and why. */
  fallbacks: Array<{ mode: string; reason: string }>;
}

export interface HybridSandboxOptions {
  /** The sandboxes to route between, by mode name, e.g. `{ docker, wasm, process }`. Required. */
  sandboxes: Record<string, Sandbox>;
  /** Ordered rules; the first that matches picks the modes. Default: `DEFAULT_HYBRID_RULES`. */
  rules?: HybridRule[];
  /** Modes for executions no rule matches. Default: `DEFAULT_HYBRID_MODES`. */
  defaultModes?: string[];
  /** Called with every routing decision (the engine turns them into metrics). Default: none. */
  onDecision?: (decision: HybridDecision) => void;
  /** How long a mode's availability (from its `capabilities()`) is trusted, in ms. Default 5000. */
  availabilityTtlMs?: number;
  /** Whether `close()` also closes the composed sandboxes. Default true. */
  closeSandboxes?: boolean;
}

/**
 * The default policy: programs that may reach destructive (or unannotated) tools, ask for
 * files or for a long run get a container (gVisor first where it is configured); the rest
 * run in the embedded wasm engine. Each list falls back, in order, to what is available.
 */
export const DEFAULT_HYBRID_RULES: readonly HybridRule[] = Object.freeze([
  {
    name: "container",
    when: (h: ExecutionHints) =>
      h.mayDestroy === true || h.needsFiles === true || h.longRunning === true,
    modes: ["gvisor", "docker", "wasm", "process"],
  },
]);

/** Modes for executions no rule matches. */
export const DEFAULT_HYBRID_MODES: readonly string[] = Object.freeze([
  "wasm",
  "docker",
  "gvisor",
  "process",
]);

/** A routing policy as data (the config's `sandbox.hybrid`). */
export interface HybridPolicy {
  /** Ordered rules: each holds when any hint it names is set. */
  rules?: ReadonlyArray<{
    name: string;
    when: ReadonlyArray<"mayWrite" | "mayDestroy" | "needsFiles" | "longRunning">;
    modes: readonly string[];
  }>;
  /** Modes for executions no rule matches. */
  defaultModes?: readonly string[];
}

/** The hybrid options a policy given as data stands for; `{}` (the defaults) when there is none. */
export function hybridPolicy(
  policy: HybridPolicy | undefined,
): Pick<HybridSandboxOptions, "rules" | "defaultModes"> {
  return {
    ...(policy?.rules
      ? {
          rules: policy.rules.map((rule) => ({
            name: rule.name,
            when: (hints: ExecutionHints) => rule.when.some((hint) => hints[hint] === true),
            modes: [...rule.modes],
          })),
        }
      : {}),
    ...(policy?.defaultModes ? { defaultModes: [...policy.defaultModes] } : {}),
  };
}

/** Where one execution may go. */
export interface HybridRoute {
  /** The rule that matched, or "default". */
  rule: string;
  /** The modes the rule (or the default) names, configured or not. */
  modes: string[];
  /** Configured modes to try, in order (an explicit `preferMode` first). */
  candidates: string[];
  /** Passed-over modes known before any check (a preferMode nobody configured). */
  skipped: Array<{ mode: string; reason: string }>;
}

/**
 * `mode: "hybrid"`: composes other sandboxes and sends each execution to one of them by
 * policy, falling back to the next mode when one is unavailable (its capabilities say so,
 * or its `open()` fails with SANDBOX_UNAVAILABLE). Outcomes name the mode that ran the job
 * and carry the fallbacks taken in `notes`. Fallback happens only before a job starts: a
 * job that fails inside a sandbox is never re-run elsewhere (its tool calls may have acted).
 */
export class HybridSandbox implements Sandbox {
  readonly mode = "hybrid";
  private readonly sandboxes: ReadonlyMap<string, Sandbox>;
  private readonly rules: readonly HybridRule[];
  private readonly defaultModes: readonly string[];
  private readonly ttlMs: number;
  private readonly availability = new Map<string, { at: number; reason: string | undefined }>();
  private readonly sessions = new Set<HybridSandboxSession>();
  private closed = false;

  constructor(private readonly options: HybridSandboxOptions) {
    const entries = Object.entries(options.sandboxes ?? {});
    if (entries.length === 0) {
      throw new OptimizerError(
        ErrorCodes.INVALID_CONFIG,
        "The hybrid sandbox needs at least one sandbox to route to.",
        {
          details: { path: "sandboxes" },
        },
      );
    }
    this.sandboxes = new Map(entries);
    this.rules = options.rules ?? DEFAULT_HYBRID_RULES;
    this.defaultModes = options.defaultModes ?? DEFAULT_HYBRID_MODES;
    this.ttlMs = options.availabilityTtlMs ?? 5000;
    for (const rule of this.rules) {
      if (typeof rule.when !== "function" || !Array.isArray(rule.modes)) {
        throw new OptimizerError(
          ErrorCodes.INVALID_CONFIG,
          `Hybrid rule ${JSON.stringify(rule.name)} needs a "when" function and a "modes" list.`,
          { details: { path: "rules" } },
        );
      }
    }
  }

  async capabilities(): Promise<SandboxCapabilities> {
    const modes: Record<string, { available: boolean; isolation: string; reason?: string }> = {};
    await Promise.all(
      [...this.sandboxes].map(async ([mode, sandbox]) => {
        try {
          const caps = await sandbox.capabilities();
          this.availability.set(mode, {
            at: Date.now(),
            reason: caps.available ? undefined : (caps.reason ?? "not available"),
          });
          modes[mode] = {
            available: caps.available,
            isolation: caps.isolation,
            ...(caps.reason ? { reason: caps.reason } : {}),
          };
        } catch (error) {
          modes[mode] = {
            available: false,
            isolation: "unknown",
            reason: toOptimizerError(error).message,
          };
        }
      }),
    );
    const down = Object.entries(modes).filter(([, m]) => !m.available);
    const available = !this.closed && down.length < this.sandboxes.size;
    const reason = this.closed
      ? "the hybrid sandbox is closed"
      : down.length > 0
        ? down
            .map(([mode, m]) => `${mode} unavailable: ${m.reason ?? "no reason given"}`)
            .join("; ")
        : undefined;
    return {
      mode: this.mode,
      available,
      ...(reason ? { reason } : {}),
      isolation: "composite",
      details: {
        modes,
        rules: this.rules.map((r) => ({ name: r.name, modes: r.modes })),
        defaultModes: [...this.defaultModes],
        activeSessions: this.sessions.size,
      },
    };
  }

  async open(options: SandboxOpenOptions = {}): Promise<SandboxSession> {
    if (this.closed)
      throw new OptimizerError(ErrorCodes.SANDBOX_UNAVAILABLE, "The hybrid sandbox is closed.");
    const session = new HybridSandboxSession(
      {
        route: (hints) => this.route(hints),
        sandbox: (mode) => this.sandboxes.get(mode)!,
        unavailable: (mode) => this.unavailable(mode),
        markUnavailable: (mode, reason) => this.availability.set(mode, { at: Date.now(), reason }),
        decide: (decision) => this.decide(decision),
        forget: (s) => this.sessions.delete(s),
      },
      options.sessionId ?? randomUUID(),
      options,
    );
    this.sessions.add(session);
    return session;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.sessions].map((s) => s.close()));
    if (this.options.closeSandboxes ?? true) {
      await Promise.all([...this.sandboxes.values()].map((s) => s.close()));
    }
  }

  /** The pools of the composed sandboxes that report one. */
  poolStats(): SandboxPoolStats[] {
    return [...this.sandboxes.values()].flatMap((s) => s.poolStats?.() ?? []);
  }

  /** The rule that matches and the modes to try, in order. */
  route(hints: ExecutionHints): HybridRoute {
    const rule = this.rules.find((r) => safeWhen(r, hints));
    const modes = rule ? rule.modes : this.defaultModes;
    const skipped: HybridRoute["skipped"] = [];
    const candidates: string[] = [];
    const preferred = hints.preferMode;
    if (preferred !== undefined) {
      if (this.sandboxes.has(preferred)) candidates.push(preferred);
      else skipped.push({ mode: preferred, reason: "requested (preferMode) but not configured" });
    }
    for (const mode of modes) {
      if (this.sandboxes.has(mode) && !candidates.includes(mode)) candidates.push(mode);
    }
    return { rule: rule?.name ?? "default", modes: [...modes], candidates, skipped };
  }

  /** Why a mode cannot take work now, or undefined when it can (cached for `availabilityTtlMs`). */
  private async unavailable(mode: string): Promise<string | undefined> {
    const cached = this.availability.get(mode);
    if (cached && Date.now() - cached.at < this.ttlMs) return cached.reason;
    let reason: string | undefined;
    try {
      const caps = await this.sandboxes.get(mode)!.capabilities();
      reason = caps.available ? undefined : (caps.reason ?? "not available");
    } catch (error) {
      reason = toOptimizerError(error).message;
    }
    this.availability.set(mode, { at: Date.now(), reason });
    return reason;
  }

  private decide(decision: HybridDecision): void {
    try {
      this.options.onDecision?.(decision);
    } catch {
      // A failing observer must not fail the execution.
    }
  }
}

function safeWhen(rule: HybridRule, hints: ExecutionHints): boolean {
  try {
    return rule.when(hints) === true;
  } catch {
    return false;
  }
}

/** What a hybrid session needs from its sandbox. */
interface HybridRouter {
  route(hints: ExecutionHints): HybridRoute;
  sandbox(mode: string): Sandbox;
  unavailable(mode: string): Promise<string | undefined>;
  markUnavailable(mode: string, reason: string): void;
  decide(decision: HybridDecision): void;
  forget(session: HybridSandboxSession): void;
}

/** One optimizer session over several sandboxes: opens one session per mode, on first use. */
class HybridSandboxSession implements SandboxSession {
  private readonly inner = new Map<string, SandboxSession>();
  private readonly queue = new SerialQueue();
  private closed = false;

  constructor(
    private readonly hybrid: HybridRouter,
    readonly id: string,
    private readonly openOptions: SandboxOpenOptions,
  ) {}

  execute(job: SandboxJob, host: SandboxHost): Promise<SandboxOutcome> {
    return this.queue.run(async () => {
      this.assertOpen();
      const hints = job.hints ?? {};
      const route = this.hybrid.route(hints);
      const fallbacks = [...route.skipped];
      const decision = (mode: string | undefined): HybridDecision => ({
        sessionId: this.id,
        jobId: job.id,
        hints,
        rule: route.rule,
        candidates: route.candidates,
        mode,
        fallbacks,
      });
      for (const mode of route.candidates) {
        const session = await this.sessionFor(mode, fallbacks);
        if (!session) continue;
        this.hybrid.decide(decision(mode));
        let outcome: SandboxOutcome;
        try {
          outcome = await session.execute(job, host);
        } catch (error) {
          if (hasErrorCode(error, ErrorCodes.SANDBOX_UNAVAILABLE) && !this.closed) {
            // The mode went away under this session: route afresh next time.
            this.inner.delete(mode);
            this.hybrid.markUnavailable(mode, toOptimizerError(error).message);
            await session.close().catch(() => {});
          }
          throw error;
        }
        const notes = [
          ...(outcome.notes ?? []),
          ...fallbacks.map((f) => `fell back from ${f.mode} (${f.reason}) to ${mode}`),
        ];
        return { ...outcome, mode, ...(notes.length > 0 ? { notes } : {}) };
      }
      this.hybrid.decide(decision(undefined));
      const tried = fallbacks.map((f) => `${f.mode}: ${f.reason}`).join("; ");
      throw new OptimizerError(
        ErrorCodes.SANDBOX_UNAVAILABLE,
        route.candidates.length === 0
          ? `No configured sandbox serves rule "${route.rule}": it names ${route.modes.join(", ") || "no mode"}${hints.preferMode ? ` and preferMode ${hints.preferMode}` : ""}.`
          : `No sandbox mode could run this execution (rule "${route.rule}"): ${tried}.`,
        { details: { rule: route.rule, fallbacks } },
      );
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.hybrid.forget(this);
    const sessions = [...this.inner.values()];
    this.inner.clear();
    await Promise.all(sessions.map((s) => s.close()));
  }

  /** The open session of a mode, opening it if the mode is available; undefined to fall back. */
  private async sessionFor(
    mode: string,
    fallbacks: HybridDecision["fallbacks"],
  ): Promise<SandboxSession | undefined> {
    const existing = this.inner.get(mode);
    if (existing) return existing;
    const reason = await this.hybrid.unavailable(mode);
    if (reason !== undefined) {
      fallbacks.push({ mode, reason });
      return undefined;
    }
    let session: SandboxSession;
    try {
      session = await this.hybrid.sandbox(mode).open({ ...this.openOptions, sessionId: this.id });
    } catch (error) {
      if (!hasErrorCode(error, ErrorCodes.SANDBOX_UNAVAILABLE)) throw error;
      const message = toOptimizerError(error).message;
      this.hybrid.markUnavailable(mode, message);
      fallbacks.push({ mode, reason: message });
      return undefined;
    }
    if (this.closed) {
      await session.close();
      this.assertOpen();
    }
    this.inner.set(mode, session);
    return session;
  }

  private assertOpen(): void {
    if (this.closed)
      throw new OptimizerError(ErrorCodes.SANDBOX_UNAVAILABLE, "This sandbox session is closed.");
  }
}

/** The hybrid sandbox: `createHybridSandbox({ sandboxes: { docker, wasm }, onDecision })`. */
export function createHybridSandbox(options: HybridSandboxOptions): HybridSandbox {
  return new HybridSandbox(options);
}
