import type { Quotas } from "../config/gateway-config-schema.js";

/** The quotas checked before an execution starts (tool calls per execution are the engine's). */
export type AdmissionQuota = "executionsPerMinute" | "executionsInFlight" | "tokensPerDay";

export interface QuotaRefusal {
  quota: AdmissionQuota;
  limit: number;
  /** When trying again can succeed, in whole seconds (at least 1). */
  retryAfterSeconds: number;
}

export type QuotaDecision =
  | { ok: true; release(): Promise<void> }
  | { ok: false; refusal: QuotaRefusal };

/**
 * A tenant's quotas, counted where every replica sees them. `admit` takes `executions` slots
 * (rate and in-flight) or refuses with the quota that stopped it; `release` gives the
 * in-flight slots back (they also lapse after `slotTtlMs`, so a replica that dies cannot hold
 * them for ever). Tokens are added after each execution and checked before the next.
 */
export interface QuotaLimiter {
  admit(tenant: string, quotas: Quotas, executions: number): Promise<QuotaDecision>;
  recordTokens(tenant: string, tokens: number): Promise<void>;
  /** What is counted now, for tests and operators. */
  usage(tenant: string): Promise<{ lastMinute: number; inFlight: number; tokensToday: number }>;
  close(): Promise<void>;
}

/** The UTC day a token count belongs to, and the seconds left in it. */
export function utcDay(now = Date.now()): { day: string; secondsLeft: number } {
  const day = new Date(now).toISOString().slice(0, 10);
  const secondsLeft = Math.max(
    1,
    Math.ceil((Date.parse(`${day}T00:00:00Z`) + 86_400_000 - now) / 1000),
  );
  return { day, secondsLeft };
}

export const MINUTE_MS = 60_000;

/** In this process only: the embedded default for one replica without Redis. */
export function createMemoryQuotaLimiter(options: { slotTtlMs: number }): QuotaLimiter {
  const starts = new Map<string, number[]>();
  const running = new Map<string, Map<symbol, number>>();
  const tokens = new Map<string, number>();
  const live = (tenant: string, now: number) => {
    const list = (starts.get(tenant) ?? []).filter((t) => t > now - MINUTE_MS);
    starts.set(tenant, list);
    const slots = running.get(tenant) ?? new Map<symbol, number>();
    for (const [slot, until] of slots) if (until <= now) slots.delete(slot);
    running.set(tenant, slots);
    return { list, slots };
  };
  return {
    async admit(tenant, quotas, executions) {
      const now = Date.now();
      const { day, secondsLeft } = utcDay(now);
      const used = tokens.get(`${tenant}:${day}`) ?? 0;
      if (quotas.tokensPerDay !== undefined && used >= quotas.tokensPerDay) {
        return refuse("tokensPerDay", quotas.tokensPerDay, secondsLeft * 1000);
      }
      const { list, slots } = live(tenant, now);
      const rate = quotas.executionsPerMinute;
      if (rate !== undefined && list.length + executions > rate) {
        return refuse("executionsPerMinute", rate, (list[0] ?? now) + MINUTE_MS - now);
      }
      const inFlight = quotas.executionsInFlight;
      if (inFlight !== undefined && slots.size + executions > inFlight) {
        return refuse("executionsInFlight", inFlight, 1000);
      }
      const taken: symbol[] = [];
      for (let i = 0; i < executions; i++) {
        list.push(now);
        const slot = Symbol("slot");
        slots.set(slot, now + options.slotTtlMs);
        taken.push(slot);
      }
      return {
        ok: true,
        release: async () => {
          for (const slot of taken) slots.delete(slot);
        },
      };
    },
    async recordTokens(tenant, n) {
      const key = `${tenant}:${utcDay().day}`;
      tokens.set(key, (tokens.get(key) ?? 0) + n);
    },
    async usage(tenant) {
      const { list, slots } = live(tenant, Date.now());
      return {
        lastMinute: list.length,
        inFlight: slots.size,
        tokensToday: tokens.get(`${tenant}:${utcDay().day}`) ?? 0,
      };
    },
    async close() {},
  };
}

export function refuse(quota: AdmissionQuota, limit: number, waitMs: number): QuotaDecision {
  return {
    ok: false,
    refusal: { quota, limit, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) },
  };
}
