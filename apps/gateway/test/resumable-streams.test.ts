import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  createGateway,
  createRedisEventStore,
  generateApiKey,
  resolveGatewayConfig,
} from "../src/index.js";
import { type GatewayProcess, startGatewayProcess } from "./helpers/gateway-process.js";
import { freePort, waitFor } from "./helpers/processes.js";
import { startRedis } from "./helpers/redis-server.js";
import { everythingServer } from "./helpers/servers.js";

// Resumable streams (ADR 0027) across two gateway replicas (their own processes) on one Redis:
// a 2025-era client's execute_code answered on an SSE stream by replica 1, the client's
// connection dropped, the stream resumed with Last-Event-ID on replica 2, which replays what
// replica 1 stored and follows it to the result, delivered once. Replay after an id gives only
// later events; another tenant or user resumes nothing; events expire; a stream whose replica
// was killed is answered GATEWAY_REPLICA_LOST.

const alice = generateApiKey("alice", "acme", "alice");
const bob = generateApiKey("bob", "acme", "bob");
const carol = generateApiKey("carol", "globex", "carol");
const TTL_MS = 4000;
const LEASE_MS = 1500;

let redis: Awaited<ReturnType<typeof startRedis>>;
let replicas: GatewayProcess[] = [];
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "mcpo-gw-resume-"));
  redis = await startRedis();
  const ports = [await freePort(), await freePort()];
  replicas = await Promise.all(
    ports.map((port, i) =>
      startGatewayProcess({
        configFile: join(dir, `gateway-${i + 1}.json`),
        config: {
          sandbox: { mode: "process" },
          sessions: { redisUrl: redis.url },
          gateway: {
            listen: `127.0.0.1:${port}`,
            drainGraceMs: 0,
            resumableStreams: { ttlMs: TTL_MS, leaseMs: LEASE_MS },
          },
          auth: { apiKeys: { keys: [alice.entry, bob.entry, carol.entry] } },
          tenants: {
            acme: { mcpServers: { everything: everythingServer() } },
            globex: { mcpServers: { everything: everythingServer() } },
          },
        },
      }),
    ),
  );
  for (const r of replicas)
    await waitFor("replica ready", async () => (await fetch(new URL("/readyz", r.url))).ok, 60_000);
}, 120_000);

afterAll(async () => {
  if (process.env.MCPO_DEBUG) console.log(replicas.map((r) => r.log).join("\n---\n"));
  await Promise.all(replicas.map((r) => r.stop("SIGKILL")));
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A 2025-era MCP session opened by the SDK's client on replica 1: its id and protocol version. */
async function openSession(key: string) {
  const transport = new StreamableHTTPClientTransport(new URL(replicas[0]!.url), {
    requestInit: { headers: { authorization: `Bearer ${key}` } },
  });
  const client = new Client({ name: "resume", version: "1" });
  await client.connect(transport);
  expect(client.getProtocolEra()).toBe("legacy");
  return {
    client,
    session: transport.sessionId!,
    version: transport.protocolVersion!,
  };
}

/** A JSON-RPC message of a stream, as the tests read it. */
interface Answer {
  id?: number;
  result?: { content?: { text?: string }[] };
  error?: { code: number; message: string; data?: { code?: string } };
}

interface SseEvent {
  id?: string;
  data: string;
}

/** Reads SSE events until `until` says stop (then drops the connection) or the stream ends. */
async function readEvents(
  response: Response,
  until: (events: SseEvent[]) => boolean = () => false,
  abort?: AbortController,
): Promise<SseEvent[]> {
  expect(response.headers.get("content-type")).toContain("text/event-stream");
  const events: SseEvent[] = [];
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return events;
    buffer += value;
    let end = buffer.indexOf("\n\n");
    while (end >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      end = buffer.indexOf("\n\n");
      const event: SseEvent = { data: "" };
      let any = false;
      for (const line of frame.split("\n")) {
        if (line.startsWith("id: ")) {
          event.id = line.slice(4);
          any = true;
        } else if (line.startsWith("data: ")) {
          event.data += line.slice(6);
          any = true;
        }
      }
      if (any) events.push(event);
      if (until(events)) {
        abort?.abort();
        await reader.cancel().catch(() => {});
        return events;
      }
    }
  }
}

const messages = (events: SseEvent[]) =>
  events.filter((e) => e.data.trim() !== "").map((e) => JSON.parse(e.data) as Answer);

function headers(
  key: string,
  session: string,
  version: string,
  extra: Record<string, string> = {},
) {
  return {
    authorization: `Bearer ${key}`,
    "mcp-session-id": session,
    "mcp-protocol-version": version,
    ...extra,
  };
}

function post(
  replica: number,
  key: string,
  s: { session: string; version: string },
  body: unknown,
  signal?: AbortSignal,
) {
  return fetch(replicas[replica]!.url, {
    method: "POST",
    headers: headers(key, s.session, s.version, {
      accept: "application/json, text/event-stream",
      "content-type": "application/json",
    }),
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
}

function resume(
  replica: number,
  key: string,
  s: { session: string; version: string },
  lastEventId: string,
) {
  return fetch(replicas[replica]!.url, {
    method: "GET",
    headers: headers(key, s.session, s.version, {
      accept: "text/event-stream",
      "last-event-id": lastEventId,
    }),
  });
}

const execute = (id: number, code: string, session: string) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name: "execute_code", arguments: { code, session } },
});

/** A program that takes about `seconds` (an upstream long-running operation) and counts its runs. */
const slow = (seconds: number, tag: string) => `
  state.runs = (state.runs ?? 0) + 1;
  await mcp.call("everything", "trigger-long-running-operation", { duration: ${seconds}, steps: 2 });
  return "${tag} " + state.runs;`;

const resultText = (m: Answer) => m.result?.content?.[0]?.text;

describe("resumable streams across replicas", () => {
  test("a stream dropped on replica 1 is resumed with Last-Event-ID on replica 2: the result arrives once, the execution ran once", async () => {
    const s = await openSession(alice.key);
    try {
      const abort = new AbortController();
      const started = await post(
        0,
        alice.key,
        s,
        execute(7, slow(2, "slow"), "resume-a"),
        abort.signal,
      );
      expect(started.status).toBe(200);
      // The priming event (an id, no message), then the connection is dropped mid-execution.
      const before = await readEvents(started, (events) => events.length >= 1, abort);
      expect(before).toHaveLength(1);
      expect(before[0]!.data.trim()).toBe("");
      const primingId = before[0]!.id!;
      expect(primingId).toMatch(/^[0-9a-f-]{36}_\d+-\d+$/);

      const resumed = await resume(1, alice.key, s, primingId);
      expect(resumed.status).toBe(200);
      const after = messages(await readEvents(resumed));
      const answers = after.filter((m) => m.id === 7);
      expect(answers).toHaveLength(1);
      expect(resultText(answers[0]!)).toBe("slow 1");
      // Nothing else of the stream (no repeated priming, no other messages).
      expect(after).toHaveLength(1);

      // Once more from the priming id: the same (stored) answer, not a second run.
      const again = messages(await readEvents(await resume(0, alice.key, s, primingId)));
      expect(again.map(resultText)).toEqual(["slow 1"]);
      const state = await fetch(new URL("/sessions/resume-a", replicas[1]!.url), {
        headers: { authorization: `Bearer ${alice.key}` },
      });
      expect(((await state.json()) as { state: { runs: number } }).state.runs).toBe(1);
    } finally {
      await s.client.close();
    }
  });

  test("the SDK's client resumes by itself on the other replica when its stream is cut", async () => {
    let resumedOn2 = 0;
    // POSTs go to replica 1 and their SSE bodies are cut after the first chunk (the priming
    // event); GETs go to replica 2.
    const cutting: typeof fetch = async (_input, init) => {
      const method = init?.method ?? "GET";
      const url = method === "GET" ? replicas[1]!.url : replicas[0]!.url;
      const response = await fetch(url, init);
      if (method === "GET" && response.ok) resumedOn2++;
      const type = response.headers.get("content-type") ?? "";
      if (method !== "POST" || !type.includes("text/event-stream")) return response;
      const reader = response.body!.getReader();
      const first = await reader.read();
      await reader.cancel();
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          if (!first.done) controller.enqueue(first.value);
          controller.close();
        },
      });
      return new Response(body, { status: response.status, headers: response.headers });
    };
    const client = new Client({ name: "resume-sdk", version: "1" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(replicas[0]!.url), {
        requestInit: { headers: { authorization: `Bearer ${alice.key}` } },
        fetch: cutting,
      }),
    );
    try {
      const result = (await client.callTool({
        name: "execute_code",
        arguments: { code: slow(1, "sdk"), session: "resume-sdk" },
      })) as { content: { text: string }[] };
      expect(result.content[0]!.text).toBe("sdk 1");
      expect(resumedOn2).toBeGreaterThanOrEqual(1);
    } finally {
      await client.close();
    }
  });

  test("replay after an event id gives only the events after it", async () => {
    const s = await openSession(alice.key);
    try {
      // One POST, two requests: one stream with the priming event and two answers.
      const response = await post(0, alice.key, s, [
        execute(1, "return 'first'", "resume-b"),
        execute(2, slow(1, "second"), "resume-b2"),
      ]);
      const events = await readEvents(response);
      const withIds = events.filter((e) => e.id);
      expect(withIds).toHaveLength(3);
      const [priming, first, second] = withIds as [SseEvent, SseEvent, SseEvent];
      const firstAnswer = JSON.parse(first.data);
      expect(resultText(firstAnswer)).toBe("first");

      const fromPriming = messages(await readEvents(await resume(1, alice.key, s, priming.id!)));
      expect(fromPriming.map((m) => m.id)).toEqual([1, 2]);
      const fromFirst = messages(await readEvents(await resume(1, alice.key, s, first.id!)));
      expect(fromFirst.map((m) => m.id)).toEqual([2]);
      expect(resultText(fromFirst[0]!)).toBe("second 1");
      // After the last event: nothing more, the stream ends.
      expect(messages(await readEvents(await resume(1, alice.key, s, second.id!)))).toEqual([]);
    } finally {
      await s.client.close();
    }
  });

  test("another tenant's or user's resume is refused", async () => {
    const a = await openSession(alice.key);
    const c = await openSession(carol.key);
    try {
      const events = await readEvents(
        await post(0, alice.key, a, execute(3, "return 'mine'", "resume-c")),
      );
      const id = events.find((e) => e.id)!.id!;
      // Alice resumes her own.
      expect((await resume(1, alice.key, a, id)).status).toBe(200);
      // Bob (same tenant, another user) and Carol (another tenant) with Alice's session: 404.
      for (const key of [bob.key, carol.key]) {
        const refused = await resume(1, key, a, id);
        expect(refused.status).toBe(404);
        expect(await refused.json()).toMatchObject({ error: { message: "Session not found" } });
      }
      // Carol with her own session and Alice's event id: no such stream in her session.
      const foreign = await resume(1, carol.key, c, id);
      expect(foreign.status).toBe(404);
      expect(JSON.stringify(await foreign.json())).toContain("Stream not found");
      // No credential: 401.
      const anonymous = await fetch(replicas[1]!.url, {
        headers: { accept: "text/event-stream", "mcp-session-id": a.session, "last-event-id": id },
      });
      expect(anonymous.status).toBe(401);
      // A GET without Last-Event-ID opens no standalone stream.
      const standalone = await fetch(replicas[1]!.url, {
        headers: headers(alice.key, a.session, a.version, { accept: "text/event-stream" }),
      });
      expect(standalone.status).toBe(405);
    } finally {
      await a.client.close();
      await c.client.close();
    }
  });

  test("events expire after the TTL, and a stream keeps at most maxEvents", async () => {
    const s = await openSession(alice.key);
    try {
      const events = await readEvents(
        await post(1, alice.key, s, execute(4, "return 'soon gone'", "resume-d")),
      );
      const id = events.find((e) => e.id)!.id!;
      expect((await resume(0, alice.key, s, id)).status).toBe(200);
      await new Promise((r) => setTimeout(r, TTL_MS + 500));
      expect((await resume(0, alice.key, s, id)).status).toBe(404);
      const left = new Redis(redis.url);
      try {
        const stream = id.split("_")[0]!;
        expect((await left.keys("mcpo:gw:sse:*")).filter((k) => k.includes(stream))).toEqual([]);
      } finally {
        left.disconnect();
      }
    } finally {
      await s.client.close();
    }
    // The store itself, on the same Redis: trimmed to maxEvents, gone after ttlMs.
    const connection = new Redis(redis.url);
    const store = createRedisEventStore({
      redis: connection,
      prefix: "test:",
      ttlMs: 300,
      maxEvents: 3,
      leaseMs: 1000,
    });
    try {
      const stream = "00000000-0000-4000-8000-000000000000";
      await store.open("s", stream, [1]);
      for (let i = 0; i < 5; i++)
        await store.append(
          "s",
          stream,
          { jsonrpc: "2.0", method: "notifications/message", params: { i } },
          false,
        );
      const kept = (await store.after("s", stream, "0"))!;
      expect(kept.map((e) => (e.message as unknown as { params: { i: number } }).params.i)).toEqual(
        [2, 3, 4],
      );
      expect(await store.after("other-session", stream, "0")).toBeUndefined();
      await new Promise((r) => setTimeout(r, 500));
      expect(await store.after("s", stream, "0")).toBeUndefined();
    } finally {
      connection.disconnect();
    }
  });

  test("a stream whose replica is killed mid-execution is answered GATEWAY_REPLICA_LOST on resume, once", async () => {
    const s = await openSession(alice.key);
    try {
      const abort = new AbortController();
      const started = await post(
        0,
        alice.key,
        s,
        execute(9, slow(5, "never"), "resume-e"),
        abort.signal,
      );
      const primingId = (await readEvents(started, (e) => e.length >= 1, abort))[0]!.id!;
      await replicas[0]!.stop("SIGKILL");
      const t0 = Date.now();
      const answers = messages(await readEvents(await resume(1, alice.key, s, primingId)));
      expect(answers).toHaveLength(1);
      expect(answers[0]).toMatchObject({
        id: 9,
        error: { data: { code: "GATEWAY_REPLICA_LOST" } },
      });
      expect(Date.now() - t0).toBeLessThan(LEASE_MS + 3000);
      // Resumed again: the same stored answer.
      const again = messages(await readEvents(await resume(1, alice.key, s, primingId)));
      expect(again.map((m) => m.error?.data?.code)).toEqual(["GATEWAY_REPLICA_LOST"]);
    } finally {
      await s.client.close().catch(() => {});
    }
  });

  test("without Redis (one embedded replica) the stream is kept in memory and resumes the same way", async () => {
    const config = resolveGatewayConfig(
      {
        sandbox: { mode: "process" },
        gateway: { listen: "127.0.0.1:0" },
        auth: { apiKeys: { keys: [alice.entry] } },
        tenants: { acme: { mcpServers: { everything: everythingServer() } } },
      },
      join(dir, "embedded.json"),
    );
    const gateway = await createGateway({ config, log: () => {} });
    const transport = new StreamableHTTPClientTransport(new URL(gateway.url), {
      requestInit: { headers: { authorization: `Bearer ${alice.key}` } },
    });
    const client = new Client({ name: "embedded", version: "1" });
    try {
      await client.connect(transport);
      const s = { session: transport.sessionId!, version: transport.protocolVersion! };
      const call = (
        method: string,
        extra: Record<string, string>,
        body?: unknown,
        signal?: AbortSignal,
      ) =>
        fetch(gateway.url, {
          method,
          headers: headers(alice.key, s.session, s.version, extra),
          ...(body ? { body: JSON.stringify(body) } : {}),
          ...(signal ? { signal } : {}),
        });
      const abort = new AbortController();
      const started = await call(
        "POST",
        { accept: "application/json, text/event-stream", "content-type": "application/json" },
        execute(5, slow(1, "embedded"), "resume-f"),
        abort.signal,
      );
      const primingId = (await readEvents(started, (e) => e.length >= 1, abort))[0]!.id!;
      const resumed = await call("GET", {
        accept: "text/event-stream",
        "last-event-id": primingId,
      });
      expect(messages(await readEvents(resumed)).map(resultText)).toEqual(["embedded 1"]);
    } finally {
      await client.close();
      await gateway.shutdown(5000, 0);
    }
  });
});
