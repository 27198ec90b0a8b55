import type { RequestId } from "@modelcontextprotocol/server";
import type { Redis } from "ioredis";
import type { EventStoreLimits, GatewayEventStore, StoredEvent } from "./event-store.js";

/**
 * The response streams' events in Redis, one Redis stream per SSE stream under
 * `<prefix>gw:sse:<mcp session>:<stream>` (entries `m` = the message, `e` = it ends the stream),
 * trimmed to `maxEvents` and expiring `ttlMs` after the last event; beside it `:ids` (the POST's
 * request ids), `:live` (the running replica's lease) and `:lost` (who answered a lost stream).
 */
export function createRedisEventStore(
  options: { redis: Redis; prefix: string } & EventStoreLimits,
): GatewayEventStore {
  const { redis, ttlMs, maxEvents, leaseMs } = options;
  const base = (session: string, stream: string) => `${options.prefix}gw:sse:${session}:${stream}`;
  return {
    async open(session, stream, requestIds) {
      const key = base(session, stream);
      await redis
        .multi()
        .set(`${key}:ids`, JSON.stringify(requestIds), "PX", ttlMs)
        .set(`${key}:live`, "1", "PX", leaseMs)
        .exec();
    },
    async append(session, stream, message, end) {
      const key = base(session, stream);
      const fields = end
        ? ["m", JSON.stringify(message), "e", "1"]
        : ["m", JSON.stringify(message)];
      const results = await redis
        .multi()
        .xadd(key, "MAXLEN", String(maxEvents), "*", ...fields)
        .pexpire(key, ttlMs)
        .pexpire(`${key}:ids`, ttlMs)
        .exec();
      const [error, entry] = results?.[0] ?? [new Error("Redis did not run the transaction.")];
      if (error) throw error;
      return entry as string;
    },
    async renew(session, stream) {
      await redis.pexpire(`${base(session, stream)}:live`, leaseMs);
    },
    async finish(session, stream) {
      await redis.del(`${base(session, stream)}:live`);
    },
    async after(session, stream, entry, limit = 100) {
      const key = base(session, stream);
      const rows = await redis.xrange(
        key,
        `(${entry === "0" ? "0-0" : entry}`,
        "+",
        "COUNT",
        limit,
      );
      if (rows.length === 0 && !(await redis.exists(key))) return undefined;
      return rows.map(([id, fields]): StoredEvent => {
        const values = new Map<string, string>();
        for (let i = 0; i + 1 < fields.length; i += 2) values.set(fields[i]!, fields[i + 1]!);
        return {
          entry: id,
          message: JSON.parse(values.get("m") ?? "{}"),
          end: values.get("e") === "1",
        };
      });
    },
    async live(session, stream) {
      return (await redis.exists(`${base(session, stream)}:live`)) === 1;
    },
    async requestIds(session, stream) {
      const ids = await redis.get(`${base(session, stream)}:ids`);
      return ids ? (JSON.parse(ids) as RequestId[]) : [];
    },
    async claimLost(session, stream) {
      return (await redis.set(`${base(session, stream)}:lost`, "1", "PX", ttlMs, "NX")) === "OK";
    },
    async close() {},
  };
}
