import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type {
  Sandbox,
  SandboxHost,
  SandboxJob,
  SandboxLimits,
  SandboxOutcome,
  SandboxSession,
} from "../contracts/sandbox.js";
import { ErrorCodes, isErrorCode } from "../errors.js";
import type { JsonValue } from "../json.js";

/** Options every hostile suite of the sandbox kit takes. */
export interface HostileSuiteOptions {
  /** Limits for the jobs; `timeoutMs` is the budget of a benign run. */
  limits?: Partial<SandboxLimits>;
  /** Wall-clock limit of hostile programs that are expected to be stopped, in ms. Default 1500. */
  shortTimeoutMs?: number;
  /** Per-test timeout for vitest, in ms. Default 60000. */
  testTimeoutMs?: number;
}

/** What a hostile suite works with: the sandbox, one long-lived session, and job helpers. */
export interface HostileKit {
  limits: SandboxLimits;
  shortTimeoutMs: number;
  timeout: number;
  sandbox(): Sandbox;
  session(): SandboxSession;
  /** A job with a fresh id; `code` may read the id from `job.id`. */
  job(code: string | ((id: string) => string), extra?: Partial<SandboxJob>): SandboxJob;
  host: SandboxHost;
  /** Runs a hostile job; resolves to the outcome or the error, never throws. */
  attempt(job: SandboxJob, session?: SandboxSession): Promise<SandboxOutcome | unknown>;
  /** After a hostile job: the same session and a new one both run a benign program. */
  expectStillServes(label: string): Promise<void>;
}

const DEFAULT_LIMITS: SandboxLimits = {
  timeoutMs: 15_000,
  maxMemoryMb: 128,
  maxOutputBytes: 1024 * 1024,
  maxLogBytes: 16 * 1024,
};

/** The demo host of the hostile suites: `demo.echo`, and `demo.never` that never answers. */
export const hostileHost: SandboxHost = {
  async call(request) {
    if (request.kind !== "tool") return null;
    if (request.tool === "echo") return { echoed: request.args } as JsonValue;
    if (request.tool === "never") return new Promise<never>(() => {});
    return null;
  },
};

let jobCount = 0;

/** Builds the kit over a sandbox and a session that the suite opens in its beforeAll. */
export function hostileKit(
  name: string,
  current: () => { sandbox: Sandbox; session: SandboxSession; other: SandboxSession },
  options: HostileSuiteOptions,
): HostileKit {
  const limits: SandboxLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const job: HostileKit["job"] = (code, extra = {}) => {
    const id = `hostile-${name.replace(/\W+/g, "-")}-${++jobCount}`;
    return {
      id,
      code: typeof code === "function" ? code(id) : code,
      servers: [{ name: "demo", global: "demo", tools: ["echo", "never"] }],
      state: {},
      limits,
      ...extra,
    };
  };
  const kit: HostileKit = {
    limits,
    shortTimeoutMs: options.shortTimeoutMs ?? 1500,
    timeout: options.testTimeoutMs ?? 60_000,
    sandbox: () => current().sandbox,
    session: () => current().session,
    job,
    host: hostileHost,
    async attempt(j, session = current().session) {
      try {
        return await session.execute(j, hostileHost);
      } catch (error) {
        return error;
      }
    },
    async expectStillServes(label) {
      const { session, other } = current();
      const same = await session.execute(
        job(
          "state.n = (state.n ?? 0) + 1; return ['benign', state.n, await demo.echo({ ok: 1 })]",
          { state: { n: 41 } },
        ),
        hostileHost,
      );
      expect(same.value, `${label}: the same session's next run`).toEqual([
        "benign",
        42,
        { echoed: { ok: 1 } },
      ]);
      expect(same.state).toEqual({ n: 42 });
      const out = await other.execute(job("return 'other session'"), hostileHost);
      expect(out.value, `${label}: another session`).toBe("other session");
    },
  };
  return kit;
}

/** An outcome or a typed error: anything else (a bare Error, a crash) fails the test. */
export function expectOutcomeOrTypedError(result: unknown, label: string): void {
  if (
    result instanceof Error ||
    (typeof result === "object" && result !== null && "code" in result)
  ) {
    const code = (result as { code?: unknown }).code;
    expect(isErrorCode(code), `${label}: ${String((result as Error).message)}`).toBe(true);
    return;
  }
  expect(result, label).toHaveProperty("mode");
}

/** The codes a stopped or refused hostile program may end with. */
export const HOSTILE_END_CODES: readonly string[] = [
  ErrorCodes.CODE_RUNTIME_ERROR,
  ErrorCodes.CODE_SYNTAX_ERROR,
  ErrorCodes.RESULT_NOT_SERIALIZABLE,
  ErrorCodes.SANDBOX_TIMEOUT,
  ErrorCodes.SANDBOX_MEMORY,
  ErrorCodes.SANDBOX_OUTPUT_LIMIT,
  ErrorCodes.SANDBOX_CRASHED,
  ErrorCodes.BRIDGE_PROTOCOL_ERROR,
];

/**
 * A describe block with two sessions of its own (the hostile one and a bystander) on a
 * sandbox: the suite's shared one (describeSandbox's), or one made with `factory` and
 * closed after. It ends by checking that a brand-new session still runs.
 */
export function describeHostile(
  title: string,
  name: string,
  source: { factory: () => Sandbox | Promise<Sandbox> } | { sandbox: () => Sandbox },
  options: HostileSuiteOptions,
  register: (kit: HostileKit) => void,
): void {
  describe(title, () => {
    let sandbox: Sandbox | undefined;
    let session: SandboxSession | undefined;
    let other: SandboxSession | undefined;
    const kit = hostileKit(
      name,
      () => ({ sandbox: sandbox!, session: session!, other: other! }),
      options,
    );
    const id = `${name}-${title}`.replace(/\W+/g, "-");
    beforeAll(async () => {
      sandbox = "factory" in source ? await source.factory() : source.sandbox();
      session = await sandbox.open({ sessionId: id });
      other = await sandbox.open({ sessionId: `${id}-bystander` });
    }, kit.timeout);
    afterAll(async () => {
      await session?.close();
      await other?.close();
      if ("factory" in source) await sandbox?.close();
    }, kit.timeout);
    register(kit);
    test(
      "afterwards a new session runs",
      async () => {
        const fresh = await sandbox!.open({ sessionId: `${id}-fresh` });
        try {
          const out = await fresh.execute(kit.job("return 'fresh'"), hostileHost);
          expect(out.value).toBe("fresh");
        } finally {
          await fresh.close();
        }
      },
      kit.timeout,
    );
  });
}
