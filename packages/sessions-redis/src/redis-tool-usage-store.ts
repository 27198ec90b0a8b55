import { createHash } from "node:crypto";
import type { ToolUsageStore } from "@mcp-optimizer/core";
import { type Caller, connectRedis, type RedisClient } from "./redis-connection.js";
import { describeAddress } from "./redis-errors.js";
import { RedisGuard } from "./redis-guard.js";
import type { RedisSessionStoreOptions } from "./redis-session-store-options.js";
import { SessionKeys } from "./session-keys.js";

export interface RedisToolUsageStoreOptions
  extends Pick<
    RedisSessionStoreOptions,
    | "url"
    | "client"
    | "sentinels"
    | "name"
    | "cluster"
    | "redisOptions"
    | "clusterOptions"
    | "prefix"
    | "connectTimeoutMs"
    | "commandTimeoutMs"
    | "maxReconnectDelayMs"
  > {
  /** Tools kept per (tenant, term); the least used go first. Default 20. */
  maxToolsPerTerm?: number;
  /** How long pairs live after their last use, in ms (a term's tools, a session's votes). Default 30 days. */
  ttlMs?: number;
}

/**
 * KEYS[1] the term's sorted set, KEYS[2] the (session, term, tool) vote marker.
 * ARGV: tool, max tools, ttl ms. Counts the session once; trims to the most used tools.
 */
const RECORD = `
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[3]) == false then return 0 end
redis.call('ZINCRBY', KEYS[1], 1, ARGV[1])
local n = redis.call('ZCARD', KEYS[1])
local max = tonumber(ARGV[2])
if n > max then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, n - max - 1) end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`;

/**
 * Learned-from-use pairs in Redis, shared by every replica. Per tenant and term a sorted set
 * of tools scored by the sessions that called them (`<prefix>u:{<tenant>}:t:<term>`), and
 * per (session, term, tool) a marker that makes a session count once
 * (`<prefix>u:{<tenant>}:v:<sha256>`); a tenant's keys share one hash slot (Cluster).
 */
export class RedisToolUsageStore implements ToolUsageStore {
  readonly kind = "redis";
  readonly client: RedisClient;
  private readonly caller: Caller;
  private readonly owned: boolean;
  private readonly prefix: string;
  private readonly maxToolsPerTerm: number;
  private readonly ttlMs: number;
  private readonly guard: RedisGuard;
  private closing = false;

  constructor(options: RedisToolUsageStoreOptions) {
    this.prefix = new SessionKeys(options.prefix ?? "mcpo:").prefix;
    this.maxToolsPerTerm = Math.max(1, options.maxToolsPerTerm ?? 20);
    this.ttlMs = Math.max(1000, options.ttlMs ?? 30 * 24 * 3600 * 1000);
    const { client, owned } = connectRedis(options);
    this.client = client;
    this.owned = owned;
    this.caller = client as unknown as Caller;
    this.guard = new RedisGuard(client, {
      label: "Tool usage store",
      address: describeAddress(options),
      connectTimeoutMs: options.connectTimeoutMs ?? 2000,
      commandTimeoutMs: options.commandTimeoutMs ?? 5000,
    });
  }

  async record(
    tenant: string,
    sessionId: string,
    terms: readonly string[],
    tool: string,
  ): Promise<void> {
    await this.op("record", () =>
      Promise.all(
        [...new Set(terms)].map((term) =>
          this.caller.call(
            "EVAL",
            RECORD,
            2,
            this.termKey(tenant, term),
            this.voteKey(tenant, sessionId, term, tool),
            tool,
            this.maxToolsPerTerm,
            this.ttlMs,
          ),
        ),
      ),
    );
  }

  async lookup(
    tenant: string,
    terms: readonly string[],
  ): Promise<Map<string, Map<string, number>>> {
    const unique = [...new Set(terms)];
    const rows = (await this.op("lookup", () =>
      Promise.all(
        unique.map((term) =>
          this.caller.call("ZRANGE", this.termKey(tenant, term), 0, -1, "WITHSCORES"),
        ),
      ),
    )) as unknown[][];
    const out = new Map<string, Map<string, number>>();
    unique.forEach((term, i) => {
      const row = rows[i] ?? [];
      if (row.length === 0) return;
      const tools = new Map<string, number>();
      // RESP3 answers [member, score] pairs; RESP2 a flat member, score, member, ... list.
      if (Array.isArray(row[0])) {
        for (const pair of row as [string, string | number][])
          tools.set(String(pair[0]), Number(pair[1]));
      } else {
        for (let j = 0; j + 1 < row.length; j += 2) tools.set(String(row[j]), Number(row[j + 1]));
      }
      out.set(term, tools);
    });
    return out;
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.guard.close();
    if (this.owned) await this.client.quit().catch(() => this.client.disconnect());
  }

  private slot(tenant: string): string {
    return `${this.prefix}u:{${Buffer.from(tenant, "utf8").toString("hex")}}`;
  }

  private termKey(tenant: string, term: string): string {
    return `${this.slot(tenant)}:t:${Buffer.from(term, "utf8").toString("hex")}`;
  }

  private voteKey(tenant: string, sessionId: string, term: string, tool: string): string {
    const digest = createHash("sha256")
      .update(`${sessionId}\u0000${term}\u0000${tool}`)
      .digest("hex");
    return `${this.slot(tenant)}:v:${digest}`;
  }

  private op<T>(what: string, work: () => Promise<T>): Promise<T> {
    return this.guard.run(what, work);
  }
}

export function createRedisToolUsageStore(
  options: RedisToolUsageStoreOptions,
): RedisToolUsageStore {
  return new RedisToolUsageStore(options);
}
