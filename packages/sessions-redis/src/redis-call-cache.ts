import { createHash } from "node:crypto";
import type { CallCache, CallCacheKey, CallCacheLookup, ToolCallResult } from "@mcp-optimizer/core";
import { type Caller, connectRedis, type RedisClient } from "./redis-connection.js";
import { describeAddress } from "./redis-errors.js";
import { RedisGuard } from "./redis-guard.js";
import type { RedisSessionStoreOptions } from "./redis-session-store-options.js";
import { SessionKeys } from "./session-keys.js";

export interface RedisCallCacheOptions
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
  /** Results larger than this (bytes of JSON) are not kept. Default: 1048576 (1 MiB). */
  maxResultBytes?: number;
}

/** KEYS[1] generation, KEYS[2] entry. Returns { generation } or { generation, payload }. */
const GET = `
local g = redis.call('GET', KEYS[1]) or '0'
local v = redis.call('GET', KEYS[2])
if v then
  local sep = string.find(v, ':', 1, true)
  if sep and string.sub(v, 1, sep - 1) == g then return { g, string.sub(v, sep + 1) } end
end
return { g }`;

/** KEYS[1] generation, KEYS[2] entry. ARGV: expected generation, payload, ttl ms. 1 when stored. */
const SET = `
local g = redis.call('GET', KEYS[1]) or '0'
if g ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[1] .. ':' .. ARGV[2], 'PX', ARGV[3])
return 1`;

/**
 * Memoised tool results in Redis, shared by every replica. Per server: a generation counter
 * (`<prefix>m:{<server>}:g`) and entries (`<prefix>m:{<server>}:e:<sha256>`) stored as
 * "<generation>:<json>" with PX; both in one hash slot (Cluster). A read returns an entry
 * only when its generation is the server's current one, so `invalidate` (INCR) drops every
 * entry of the server at once and the rest expire by their TTL. A set checks the generation
 * in the same script, so a read that raced a write never stores a stale result.
 */
export class RedisCallCache implements CallCache {
  readonly kind = "redis";
  readonly client: RedisClient;
  private readonly caller: Caller;
  private readonly owned: boolean;
  private readonly prefix: string;
  private readonly maxResultBytes: number;
  private readonly guard: RedisGuard;
  private closing = false;

  constructor(options: RedisCallCacheOptions) {
    this.prefix = new SessionKeys(options.prefix ?? "mcpo:").prefix;
    this.maxResultBytes = options.maxResultBytes ?? 1024 * 1024;
    const { client, owned } = connectRedis(options);
    this.client = client;
    this.owned = owned;
    this.caller = client as unknown as Caller;
    this.guard = new RedisGuard(client, {
      label: "Call cache",
      address: describeAddress(options),
      connectTimeoutMs: options.connectTimeoutMs ?? 2000,
      commandTimeoutMs: options.commandTimeoutMs ?? 5000,
    });
  }

  async get(key: CallCacheKey): Promise<CallCacheLookup> {
    const [generation, payload] = (await this.op("get", () =>
      this.caller.call("EVAL", GET, 2, this.generationKey(key.server), this.entryKey(key)),
    )) as [string, string | undefined];
    return {
      generation: Number(generation),
      ...(payload !== undefined ? { result: JSON.parse(payload) as ToolCallResult } : {}),
    };
  }

  async set(
    key: CallCacheKey,
    result: ToolCallResult,
    ttlMs: number,
    generation: number,
  ): Promise<void> {
    const payload = JSON.stringify(result);
    if (Buffer.byteLength(payload) > this.maxResultBytes || ttlMs <= 0) return;
    await this.op("set", () =>
      this.caller.call(
        "EVAL",
        SET,
        2,
        this.generationKey(key.server),
        this.entryKey(key),
        String(generation),
        payload,
        Math.ceil(ttlMs),
      ),
    );
  }

  async invalidate(server: string): Promise<void> {
    await this.op("invalidate", () => this.caller.call("INCR", this.generationKey(server)));
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.guard.close();
    if (this.owned) await this.client.quit().catch(() => this.client.disconnect());
  }

  private slot(server: string): string {
    // Hex-encoded in a hash tag: any server name is a valid, brace-free key part.
    return `${this.prefix}m:{${Buffer.from(server, "utf8").toString("hex")}}`;
  }

  private generationKey(server: string): string {
    return `${this.slot(server)}:g`;
  }

  private entryKey(key: CallCacheKey): string {
    const digest = createHash("sha256")
      .update(`${key.tenant}\u0000${key.tool}\u0000${key.args}`)
      .digest("hex");
    return `${this.slot(key.server)}:e:${digest}`;
  }

  private op<T>(what: string, work: () => Promise<T>): Promise<T> {
    return this.guard.run(what, work);
  }
}

export function createRedisCallCache(options: RedisCallCacheOptions): RedisCallCache {
  return new RedisCallCache(options);
}
