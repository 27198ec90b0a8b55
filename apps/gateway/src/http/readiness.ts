import type { Sandbox, SessionStore } from "@mcp-optimizer/core";

export interface ReadinessOptions {
  /** The session store (Redis, when configured): pinged. */
  sessions: SessionStore;
  /** Pings the Redis of quotas and MCP sessions, when there is one. */
  pingRedis?: () => Promise<unknown>;
  /** The sandbox of the default configuration, loaded once: its capabilities must say available. */
  sandbox: () => Promise<Sandbox>;
  /** True once the replica is shutting down. */
  draining: () => boolean;
  /** True once the tenants opened at start are warm (ready to serve without a cold start). */
  warm: () => boolean;
  /** How long one answer is reused, in ms. Default 1000. */
  cacheMs?: number;
}

export interface Readiness {
  ready: boolean;
  checks: Record<string, { ok: boolean; error?: string }>;
}

/** `/readyz`: this replica should get traffic (not draining, Redis answers, the sandbox can run). */
export function createReadiness(options: ReadinessOptions): () => Promise<Readiness> {
  let last: { at: number; answer: Promise<Readiness> } | undefined;
  const check = async (fn: () => Promise<unknown>) => {
    try {
      await withTimeout(fn(), 2000);
      return { ok: true };
    } catch (error) {
      return { ok: false, error: (error as Error).message };
    }
  };
  const evaluate = async (): Promise<Readiness> => {
    const pingRedis = options.pingRedis;
    const [sessions, redis, sandbox] = await Promise.all([
      check(async () => options.sessions.ping?.()),
      pingRedis ? check(pingRedis) : undefined,
      check(async () => {
        const capabilities = await (await options.sandbox()).capabilities();
        if (!capabilities.available)
          throw new Error(
            `sandbox ${capabilities.mode} unavailable: ${capabilities.reason ?? "no reason given"}`,
          );
      }),
    ]);
    const checks = { sessions, ...(redis ? { redis } : {}), sandbox };
    return { ready: Object.values(checks).every((c) => c.ok), checks };
  };
  return async () => {
    if (options.draining())
      return { ready: false, checks: { draining: { ok: false, error: "shutting down" } } };
    const now = Date.now();
    if (!last || now - last.at > (options.cacheMs ?? 1000)) last = { at: now, answer: evaluate() };
    return last.answer;
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
