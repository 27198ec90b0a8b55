import { afterAll, describe, expect, test } from "vitest";
import type { CallCache, CallCacheKey } from "../contracts/call-cache.js";
import type { ToolCallResult } from "../contracts/upstream.js";

export interface DescribeCallCacheOptions {
  /** Two caches from the factory share one backend (Redis: true; in-process: false). */
  shared: boolean;
  /** Per-test timeout for vitest, in ms. Default 15000. */
  testTimeoutMs?: number;
}

const result = (text: string): ToolCallResult => ({
  content: [{ type: "text", text }],
  structuredContent: { text },
});

/**
 * The CallCache conformance suite, run against each implementation's real backend:
 * `describeCallCache("redis", () => createRedisCallCache({ url }))`. Each test uses its own
 * server names, so one cache may serve the whole suite.
 */
export function describeCallCache(
  name: string,
  factory: () => CallCache | Promise<CallCache>,
  options: DescribeCallCacheOptions,
): void {
  const timeout = options.testTimeoutMs ?? 15_000;
  const opened: CallCache[] = [];
  const open = async () => {
    const cache = await factory();
    opened.push(cache);
    return cache;
  };
  let n = 0;
  const key = (over: Partial<CallCacheKey> = {}): CallCacheKey => ({
    tenant: "t1",
    server: `srv-${name}-${process.pid}-${n}`,
    tool: "read",
    args: '{"a":1}',
    ...over,
  });
  describe(`CallCache conformance: ${name}`, () => {
    afterAll(async () => {
      await Promise.allSettled(opened.map((c) => c.close()));
    }, timeout);

    test(
      "a stored result is found by the same key and by no other (tenant, tool, arguments)",
      async () => {
        n++;
        const cache = await open();
        const first = await cache.get(key());
        expect(first.result).toBeUndefined();
        await cache.set(key(), result("one"), 60_000, first.generation);
        expect((await cache.get(key())).result).toEqual(result("one"));
        expect((await cache.get(key({ tenant: "t2" }))).result).toBeUndefined();
        expect((await cache.get(key({ tool: "other" }))).result).toBeUndefined();
        expect((await cache.get(key({ args: '{"a":2}' }))).result).toBeUndefined();
        expect(typeof cache.kind).toBe("string");
      },
      timeout,
    );

    test(
      "invalidate drops every entry of the server for every tenant, and only of that server",
      async () => {
        n++;
        const cache = await open();
        const other = key({ server: `other-${name}-${process.pid}-${n}` });
        for (const k of [key(), key({ tenant: "t2" }), other]) {
          const { generation } = await cache.get(k);
          await cache.set(k, result(k.tenant), 60_000, generation);
        }
        await cache.invalidate(key().server);
        expect((await cache.get(key())).result).toBeUndefined();
        expect((await cache.get(key({ tenant: "t2" }))).result).toBeUndefined();
        expect((await cache.get(other)).result).toEqual(result("t1"));
      },
      timeout,
    );

    test(
      "a set whose read began before an invalidation stores nothing (no stale result)",
      async () => {
        n++;
        const cache = await open();
        const { generation } = await cache.get(key());
        await cache.invalidate(key().server); // a write landed while the read was in flight
        await cache.set(key(), result("stale"), 60_000, generation);
        expect((await cache.get(key())).result).toBeUndefined();
        const fresh = await cache.get(key());
        await cache.set(key(), result("fresh"), 60_000, fresh.generation);
        expect((await cache.get(key())).result).toEqual(result("fresh"));
      },
      timeout,
    );

    test(
      "entries expire after their TTL",
      async () => {
        n++;
        const cache = await open();
        const { generation } = await cache.get(key());
        await cache.set(key(), result("short"), 150, generation);
        expect((await cache.get(key())).result).toEqual(result("short"));
        await new Promise((r) => setTimeout(r, 400));
        expect((await cache.get(key())).result).toBeUndefined();
      },
      timeout,
    );

    test(
      options.shared
        ? "two caches on one backend see each other's entries and invalidations (replicas)"
        : "two caches are independent (one process each)",
      async () => {
        n++;
        const a = await open();
        const b = await open();
        const { generation } = await a.get(key());
        await a.set(key(), result("shared"), 60_000, generation);
        const seen = await b.get(key());
        if (!options.shared) {
          expect(seen.result).toBeUndefined();
          return;
        }
        expect(seen.result).toEqual(result("shared"));
        await b.invalidate(key().server);
        expect((await a.get(key())).result).toBeUndefined();
      },
      timeout,
    );
  });
}
