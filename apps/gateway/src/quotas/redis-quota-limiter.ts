import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { Quotas } from "../config/gateway-config-schema.js";
import {
  type AdmissionQuota,
  MINUTE_MS,
  type QuotaDecision,
  type QuotaLimiter,
  refuse,
  utcDay,
} from "./quota-limiter.js";

/**
 * Checks and takes a tenant's slots in one step, on Redis's clock (replicas' clocks may
 * differ): the day's tokens, the executions started in the last minute (a sorted set of
 * start times), the executions in flight (a sorted set of slot deadlines; a slot of a replica
 * that died lapses at its deadline). Answers the quota that refused and how long to wait.
 */
const ADMIT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local inflight = tonumber(ARGV[3])
local tokens = tonumber(ARGV[4])
local ttl = tonumber(ARGV[6])
local window = tonumber(ARGV[7])
if tokens > 0 then
  local used = tonumber(redis.call('GET', KEYS[3]) or '0')
  if used >= tokens then return {'tokensPerDay', tokens, -1} end
end
if rate > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
  local count = redis.call('ZCARD', KEYS[1])
  if count + n > rate then
    local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    local wait = window
    if oldest[2] then wait = tonumber(oldest[2]) + window - now end
    return {'executionsPerMinute', rate, wait}
  end
end
if inflight > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  if redis.call('ZCARD', KEYS[2]) + n > inflight then return {'executionsInFlight', inflight, 1000} end
end
for i = 1, n do
  local member = ARGV[5] .. ':' .. i
  if rate > 0 then redis.call('ZADD', KEYS[1], now, member) end
  if inflight > 0 then redis.call('ZADD', KEYS[2], now + ttl, member) end
end
if rate > 0 then redis.call('PEXPIRE', KEYS[1], window) end
if inflight > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
return {'ok', 0, 0}
`;

const USAGE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return {
  redis.call('ZCOUNT', KEYS[1], now - tonumber(ARGV[1]), '+inf'),
  redis.call('ZCOUNT', KEYS[2], now, '+inf'),
  tonumber(redis.call('GET', KEYS[3]) or '0')
}
`;

type Scripted = Redis & {
  gatewayAdmit(...args: (string | number)[]): Promise<[string, number, number]>;
  gatewayUsage(...args: (string | number)[]): Promise<[number, number, number]>;
};

export interface RedisQuotaLimiterOptions {
  /** The connection (shared with the MCP session registry); the limiter does not close it. */
  redis: Redis;
  /** Key prefix, one per deployment. */
  prefix: string;
  /** How long an in-flight slot holds at most, in ms: longer than any execution. */
  slotTtlMs: number;
}

export function createRedisQuotaLimiter(options: RedisQuotaLimiterOptions): QuotaLimiter {
  const redis = options.redis as unknown as Scripted;
  if (typeof redis.gatewayAdmit !== "function") {
    options.redis.defineCommand("gatewayAdmit", { numberOfKeys: 3, lua: ADMIT });
    options.redis.defineCommand("gatewayUsage", { numberOfKeys: 3, lua: USAGE });
  }
  // One hash tag per tenant: a Cluster keeps a tenant's keys in one slot.
  const keys = (tenant: string, day = utcDay().day) => {
    const base = `${options.prefix}gw:{${tenant}}:`;
    return [`${base}rate`, `${base}inflight`, `${base}tokens:${day}`] as const;
  };
  return {
    async admit(tenant: string, quotas: Quotas, executions: number): Promise<QuotaDecision> {
      const { day, secondsLeft } = utcDay();
      const slot = randomUUID();
      const [answer, limit, waitMs] = await redis.gatewayAdmit(
        ...keys(tenant, day),
        executions,
        quotas.executionsPerMinute ?? 0,
        quotas.executionsInFlight ?? 0,
        quotas.tokensPerDay ?? 0,
        slot,
        options.slotTtlMs,
        MINUTE_MS,
      );
      if (answer !== "ok") {
        const wait = waitMs < 0 ? secondsLeft * 1000 : waitMs;
        return refuse(answer as AdmissionQuota, limit, wait);
      }
      const members = Array.from({ length: executions }, (_, i) => `${slot}:${i + 1}`);
      const inflightKey = keys(tenant, day)[1];
      let released = false;
      return {
        ok: true,
        release: async () => {
          if (released || quotas.executionsInFlight === undefined) return;
          released = true;
          await redis.zrem(inflightKey, ...members);
        },
      };
    },
    async recordTokens(tenant: string, tokens: number): Promise<void> {
      if (tokens <= 0) return;
      const key = keys(tenant)[2];
      await redis
        .multi()
        .incrby(key, Math.round(tokens))
        .expire(key, 2 * 86_400)
        .exec();
    },
    async usage(tenant: string) {
      const [lastMinute, inFlight, tokensToday] = await redis.gatewayUsage(
        ...keys(tenant),
        MINUTE_MS,
      );
      return { lastMinute, inFlight, tokensToday };
    },
    async close() {},
  };
}
