import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, SdkHttpError, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { generateApiKey } from "../src/index.js";
import { type GatewayProcess, startGatewayProcess } from "./helpers/gateway-process.js";
import { haproxyConfig, startHaproxy } from "./helpers/haproxy.js";
import { freePort, waitFor } from "./helpers/processes.js";
import { startRedis } from "./helpers/redis-server.js";
import { everythingServer } from "./helpers/servers.js";

// Three gateway replicas (their own processes, the built bin) on one Redis, behind HAProxy
// running the deployment's own haproxy.cfg. MCP clients driven by the SDK (2025-era sessions
// and 2026 per-request clients) run stateful programs through HAProxy while one replica is
// SIGKILLed and another SIGTERMed. At the end every acknowledged `state` update is there,
// the clients went on on the remaining replica, the SIGTERMed replica finished what it had
// and exited 0, and the only failures are calls that were in flight when the replica was
// killed, each typed GATEWAY_REPLICA_LOST (HAProxy's 502, or the answer of the resumed stream).

type TextResult = { content: { type: string; text: string }[]; isError?: boolean };

const key = generateApiKey("load", "acme", "load");
const CLIENTS = 6;

interface CallRecord {
  start: number;
  end: number;
  n?: number;
  error?: unknown;
}

let redis: Awaited<ReturnType<typeof startRedis>>;
let replicas: GatewayProcess[] = [];
let haproxy: Awaited<ReturnType<typeof startHaproxy>>;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "mcpo-gw-scale-"));
  redis = await startRedis();
  const ports = [await freePort(), await freePort(), await freePort()];
  replicas = await Promise.all(
    ports.map((port, i) =>
      startGatewayProcess({
        configFile: join(dir, `gateway-${i + 1}.json`),
        config: {
          mcpServers: { everything: everythingServer() },
          // The process sandbox: this test is about replicas, not about a sandbox's behaviour
          // under a saturated machine (see the report on the wasm engine's recycling).
          sandbox: { mode: "process" },
          sessions: { redisUrl: redis.url },
          gateway: {
            listen: `127.0.0.1:${port}`,
            drainTimeoutMs: 20_000,
            // HAProxy takes a replica out after two failed checks one second apart.
            drainGraceMs: 2500,
            // A killed replica's turn on a session lapses after 2 s, not the default 15 s.
            sessionLease: { ttlMs: 2000, waitMs: 20_000 },
          },
          auth: { apiKeys: { keys: [key.entry] } },
          tenants: { acme: {} },
        },
      }),
    ),
  );
  // Each replica ready on its own (the sandbox loaded, Redis answering) before traffic.
  for (const r of replicas)
    await waitFor("replica ready", async () => (await fetch(new URL("/readyz", r.url))).ok, 60_000);
  const port = await freePort();
  haproxy = await startHaproxy(
    join(dir, "haproxy.cfg"),
    haproxyConfig(
      port,
      ports.map((p, i) => ({ name: `gateway-${i + 1}`, port: p })),
    ),
    port,
  );
  // rise 2 x inter 1 s: every server up.
  await new Promise((r) => setTimeout(r, 2500));
}, 180_000);

afterAll(async () => {
  if (process.env.MCPO_DEBUG) console.log(haproxy?.log, replicas.map((r) => r.log).join("\n---\n"));
  await haproxy?.stop();
  await Promise.all(replicas.map((r) => r.stop("SIGKILL")));
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("three replicas behind HAProxy", () => {
  test("a replica SIGKILLed and another SIGTERMed under load: acknowledged state kept, clients go on, only the killed replica's in-flight calls fail, typed", async () => {
    const endpoint = new URL("/mcp", haproxy.url);
    const clients = await Promise.all(
      Array.from({ length: CLIENTS }, async (_, i) => {
        const client = new Client(
          { name: `load-${i}`, version: "1" },
          i % 2 === 0 ? {} : { versionNegotiation: { mode: "auto" } },
        );
        await client.connect(
          new StreamableHTTPClientTransport(endpoint, {
            requestInit: { headers: { authorization: `Bearer ${key.key}` } },
          }),
        );
        return client;
      }),
    );
    expect(clients.map((c) => c.getProtocolEra())).toEqual(
      Array.from({ length: CLIENTS }, (_, i) => (i % 2 === 0 ? "legacy" : "modern")),
    );

    const records: CallRecord[][] = clients.map(() => []);
    let stop = false;
    // A stateful program with two tool calls, one of them a 300 ms operation: replicas have
    // calls in flight most of the time.
    const program = `
      state.n = (state.n ?? 0) + 1;
      await mcp.call("everything", "trigger-long-running-operation", { duration: 0.3, steps: 1 });
      await everything.echo({ message: String(state.n) });
      return state.n;`;
    const loops = clients.map(async (client, i) => {
      while (!stop) {
        const record: CallRecord = { start: Date.now(), end: 0 };
        try {
          const result = (await client.callTool({
            name: "execute_code",
            arguments: { code: program, session: `load-${i}` },
          })) as TextResult;
          if (result.isError) throw new Error(result.content[0]?.text);
          record.n = Number(result.content[0]!.text);
        } catch (error) {
          record.error = error;
        }
        record.end = Date.now();
        records[i]!.push(record);
      }
    });
    const successesAfter = (t: number) =>
      records.map((list) => list.filter((r) => r.n !== undefined && r.start > t).length);
    const everyClient = (t: number, count: number) => () =>
      successesAfter(t).every((n) => n >= count);

    try {
      await waitFor("every client running", everyClient(0, 3), 90_000);
      // Kill one replica while it has calls in flight.
      await waitFor(
        "calls in flight on replica 1",
        async () => {
          const health = (await (await fetch(new URL("/healthz", replicas[0]!.url))).json()) as {
            inFlight: number;
          };
          return health.inFlight >= 1;
        },
        30_000,
        10,
      );
      const killedAt = Date.now();
      const killed = await replicas[0]!.stop("SIGKILL");
      // Until the process is gone its listening socket still takes connections.
      const goneAt = Date.now();
      expect(killed.signal).toBe("SIGKILL");
      await waitFor("clients going on after the kill", everyClient(killedAt, 2), 90_000);

      // Stop another one gracefully while it has calls in flight.
      await waitFor(
        "calls in flight on replica 2",
        async () => {
          const health = (await (await fetch(new URL("/healthz", replicas[1]!.url))).json()) as {
            inFlight: number;
          };
          return health.inFlight >= 1;
        },
        30_000,
        10,
      );
      const termAt = Date.now();
      const stopped = await replicas[1]!.stop("SIGTERM");
      const stoppedAt = Date.now();
      expect(stopped).toEqual({ code: 0, signal: null });
      expect(replicas[1]!.log).toMatch(/SIGTERM: draining [1-9]\d* request/);
      expect(replicas[1]!.log).toContain("stopped\n");
      await waitFor("clients going on on the last replica", everyClient(stoppedAt, 3), 90_000);

      stop = true;
      await Promise.all(loops);

      // Failures: only calls sent to replica 1 before it was gone and not answered when it was
      // killed, each a typed 502.
      const all = records.flat();
      const failures = all.filter((r) => r.error !== undefined);
      const describe = (e: unknown) =>
        `${String(e)} (cause: ${String((e as { cause?: unknown }).cause)}; ${JSON.stringify((e as { cause?: { code?: unknown } }).cause?.code)})`;
      for (const f of failures) {
        expect(f.start, describe(f.error)).toBeLessThanOrEqual(goneAt);
        expect(f.end, describe(f.error)).toBeGreaterThanOrEqual(killedAt);
        // HAProxy's typed 502 (the replica died before answering anything), or, for a
        // 2025-era client whose SSE stream had begun, the same error as the answer of the
        // stream it resumed on another replica (ADR 0027).
        if (f.error instanceof SdkHttpError) expect(f.error.status).toBe(502);
        else
          expect(f.error, describe(f.error)).toMatchObject({
            code: -32603,
            data: { code: "GATEWAY_REPLICA_LOST" },
          });
        expect(String(f.error)).toContain("GATEWAY_REPLICA_LOST");
      }
      expect(failures.length).toBeLessThanOrEqual(CLIENTS);
      // Calls in flight when replica 2 was told to stop all succeeded (it drained them).
      const acrossTerm = all.filter((r) => r.start <= termAt && r.end >= termAt);
      expect(acrossTerm.length).toBeGreaterThan(0);
      for (const r of acrossTerm) expect(r.error, String(r.error)).toBeUndefined();

      // Every acknowledged update is there: acknowledged values only grow, and the state
      // each session ends with is the last one acknowledged.
      for (let i = 0; i < CLIENTS; i++) {
        const acked = records[i]!.filter((r) => r.n !== undefined).map((r) => r.n!);
        for (let k = 1; k < acked.length; k++) expect(acked[k]).toBeGreaterThan(acked[k - 1]!);
        const response = await fetch(new URL(`/sessions/load-${i}`, haproxy.url), {
          headers: { authorization: `Bearer ${key.key}` },
        });
        expect(response.status).toBe(200);
        const session = (await response.json()) as { state: { n: number } };
        expect(session.state.n).toBe(acked[acked.length - 1]);
      }
    } finally {
      stop = true;
      await Promise.allSettled(loops);
      await Promise.allSettled(clients.map((c) => c.close()));
    }
  }, 300_000);
});
