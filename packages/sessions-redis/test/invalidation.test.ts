import { ErrorCodes, type SessionChange, sessionData } from "@mcp-optimizer/core";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createRedisSessionStore, type RedisSessionStore } from "../src/index.js";
import { RedisServer } from "./redis-server.js";

async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// Cross-replica cache invalidation over pub/sub on the prefix's channel.
describe("pub/sub invalidation between replicas", () => {
  let server: RedisServer;
  let commands: Redis;
  let writer: RedisSessionStore;
  let reader: RedisSessionStore;
  let stranger: RedisSessionStore;

  beforeAll(async () => {
    server = await RedisServer.start();
    commands = new Redis(server.url);
    writer = createRedisSessionStore({ url: server.url, prefix: "inv:", cache: true });
    // "eventual": reads come from memory until a pub/sub message says otherwise.
    reader = createRedisSessionStore({
      url: server.url,
      prefix: "inv:",
      cache: { consistency: "eventual" },
    });
    // Another deployment (prefix) on the same Redis: never hears inv:'s writes.
    stranger = createRedisSessionStore({ url: server.url, prefix: "other:" });
    await until(() => writer.listening && reader.listening && stranger.listening, "subscriptions");
  });

  afterAll(async () => {
    await Promise.all([writer?.close(), reader?.close(), stranger?.close()]);
    commands?.disconnect();
    await server?.stop();
  });

  /** How many HMGETs (session reads) Redis has served so far. */
  async function reads(): Promise<number> {
    const info = await commands.info("commandstats");
    const line = info.split("\n").find((l) => l.startsWith("cmdstat_hmget:"));
    return line ? Number(/calls=(\d+)/.exec(line)![1]) : 0;
  }

  test("a cached read is served from memory until another replica writes", async () => {
    const created = await writer.create({ id: "inv-1", state: { v: 1 } });
    expect((await reader.get("inv-1"))!.state).toEqual({ v: 1 });
    const before = await reads();
    for (let i = 0; i < 5; i++) expect((await reader.get("inv-1"))!.version).toBe(1);
    expect(await reads()).toBe(before);

    const changes: SessionChange[] = [];
    const strangerChanges: SessionChange[] = [];
    reader.subscribe((c) => changes.push(c));
    stranger.subscribe((c) => strangerChanges.push(c));
    await writer.update("inv-1", 1, { ...sessionData(created), state: { v: 2 } });
    await until(() => changes.length > 0, "the invalidation message");
    expect(changes).toEqual([{ id: "inv-1", version: 2 }]);
    expect((await reader.get("inv-1"))!.state).toEqual({ v: 2 });

    await writer.touch("inv-1");
    await writer.delete("inv-1");
    await until(() => changes.length === 3, "touch and delete messages");
    expect(changes.slice(1)).toEqual([
      { id: "inv-1", version: 2 },
      { id: "inv-1", version: null },
    ]);
    expect(await reader.get("inv-1")).toBeUndefined();
    expect(strangerChanges).toEqual([]);
  });

  test("a replica whose cached copy lost a compare-and-set re-reads from Redis", async () => {
    const created = await writer.create({ id: "inv-2", state: { n: 0 } });
    const stale = (await reader.get("inv-2"))!;
    // Write behind the reader's back, as if the message were still in flight.
    await commands.hset("inv:s:{inv-2}", "v", "5");
    await expect(
      reader.update("inv-2", stale.version, { ...sessionData(created), state: { n: 1 } }),
    ).rejects.toMatchObject({ code: ErrorCodes.SESSION_CONFLICT, details: { actualVersion: 5 } });
    // The conflict dropped the cached copy: the next read sees version 5.
    expect((await reader.get("inv-2"))!.version).toBe(5);
  });

  test("a write published by hand on the channel drops the copy (the message format is the contract)", async () => {
    await writer.create({ id: "inv-3" });
    await reader.get("inv-3");
    expect(reader.cachedSessions).toBeGreaterThan(0);
    const held = reader.cachedSessions;
    const heard: SessionChange[] = [];
    reader.subscribe((c) => heard.push(c));
    await commands.publish("inv:changes", "some-other-replica 9 inv-3");
    await until(() => heard.length === 1, "the hand-published message");
    expect(heard[0]).toEqual({ id: "inv-3", version: 9 });
    expect(reader.cachedSessions).toBe(held - 1);
    // Garbage on the channel is ignored.
    await commands.publish("inv:changes", "garbage");
    expect((await reader.get("inv-3"))!.version).toBe(1);
  });

  test('cache consistency "strong" (the default) reads another replica\'s write at once', async () => {
    const strong = createRedisSessionStore({ url: server.url, prefix: "inv:", cache: true });
    try {
      await until(() => strong.listening, "subscription");
      const created = await writer.create({ id: "inv-4", state: { v: 1 }, ttlMs: 60_000 });
      expect((await strong.get("inv-4"))!.state).toEqual({ v: 1 });
      expect(strong.cachedSessions).toBe(1);
      // A current copy is answered from memory after Redis confirms its version.
      expect(await strong.get("inv-4")).toEqual(created);
      // No waiting for the pub/sub message: the very next read sees the write, and a touch.
      await writer.update("inv-4", 1, { ...sessionData(created), state: { v: 2 } });
      expect((await strong.get("inv-4"))!.state).toEqual({ v: 2 });
      await writer.touch("inv-4", 120_000);
      expect((await strong.get("inv-4"))!.ttlMs).toBe(120_000);
      await writer.delete("inv-4");
      expect(await strong.get("inv-4")).toBeUndefined();
    } finally {
      await strong.close();
    }
  });
});
