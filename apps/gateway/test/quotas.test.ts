import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, SdkHttpError, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createRedisQuotaLimiter, generateApiKey } from "../src/index.js";
import { executeCode } from "./helpers/execute-code.js";
import { type GatewayProcess, startGatewayProcess } from "./helpers/gateway-process.js";
import { startRedis } from "./helpers/redis-server.js";
import { everythingServer } from "./helpers/servers.js";

// A tenant's quotas hold in total across replicas, not per replica: two gateway processes on
// one Redis, requests spread over both. Refusals come before anything runs, as 429 with
// Retry-After and a JSON-RPC error whose data carries QUOTA_EXCEEDED and the quota's name.

const keys = {
  rate: generateApiKey("rate", "rate"),
  flight: generateApiKey("flight", "flight"),
  tokens: generateApiKey("tokens", "tokens"),
  calls: generateApiKey("calls", "calls"),
  sdk: generateApiKey("sdk", "sdk"),
};

let redis: Awaited<ReturnType<typeof startRedis>>;
let replicas: GatewayProcess[] = [];
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "mcpo-gw-quotas-"));
  redis = await startRedis();
  const config = {
    mcpServers: { everything: everythingServer() },
    sandbox: { mode: "process" },
    sessions: { redisUrl: redis.url },
    gateway: { listen: "127.0.0.1:0" },
    auth: { apiKeys: { keys: Object.values(keys).map((k) => k.entry) } },
    tenants: {
      rate: { quotas: { executionsPerMinute: 6 } },
      flight: { quotas: { executionsInFlight: 2 } },
      tokens: { quotas: { tokensPerDay: 1 } },
      calls: { quotas: { toolCallsPerExecution: 2 } },
      sdk: { quotas: { executionsPerMinute: 1 } },
    },
  };
  replicas = await Promise.all(
    [0, 1].map((i) => startGatewayProcess({ configFile: join(dir, `gateway-${i}.json`), config })),
  );
}, 120_000);

afterAll(async () => {
  await Promise.all(replicas.map((r) => r.stop("SIGTERM")));
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** One execute_code call as a 2025-era stateless request (no MCP session). */
const execute = (replica: GatewayProcess, key: string, code: string) =>
  executeCode(replica.url, key, code);

function limiter() {
  const client = new Redis(redis.url);
  return {
    client,
    limiter: createRedisQuotaLimiter({ redis: client, prefix: "mcpo:", slotTtlMs: 60_000 }),
  };
}

describe("quotas across two replicas", () => {
  test("executionsPerMinute: 6 in total over both replicas, then 429 with Retry-After", async () => {
    const answers = [];
    for (let i = 0; i < 10; i++)
      answers.push(await execute(replicas[i % 2]!, keys.rate.key, `return ${i}`));
    const ok = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status === 429);
    expect(ok.length).toBe(6);
    expect(refused.length).toBe(4);
    // Both replicas ran some and refused some: the count is shared, not per replica.
    expect(answers.slice(0, 6).every((a) => a.status === 200)).toBe(true);
    for (const r of refused) {
      expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(Number(r.retryAfter)).toBeLessThanOrEqual(60);
      expect(r.body.error).toMatchObject({
        code: -32000,
        data: { code: "QUOTA_EXCEEDED", quota: "executionsPerMinute", limit: 6, tenant: "rate" },
      });
      expect(r.body.error!.message).toMatch(/^QUOTA_EXCEEDED: .*nothing ran/);
    }
    const { client, limiter: l } = limiter();
    expect((await l.usage("rate")).lastMinute).toBe(6);
    client.disconnect();
  }, 60_000);

  test("executionsInFlight: 2 at once in total; 4 started together on two replicas, 2 refused; free again after", async () => {
    const slow = `await mcp.call("everything", "trigger-long-running-operation", { duration: 2, steps: 1 }); return "done"`;
    const answers = await Promise.all(
      [0, 1, 2, 3].map((i) => execute(replicas[i % 2]!, keys.flight.key, slow)),
    );
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([200, 200, 429, 429]);
    for (const a of answers.filter((x) => x.status === 200)) {
      expect(a.body.result?.isError).toBeFalsy();
      expect(a.body.result?.content[0]?.text).toMatch(/^"?done/);
    }
    for (const a of answers.filter((x) => x.status === 429)) {
      expect(a.body.error?.data).toMatchObject({ quota: "executionsInFlight", limit: 2 });
      expect(a.retryAfter).toBe("1");
    }
    const { client, limiter: l } = limiter();
    expect((await l.usage("flight")).inFlight).toBe(0);
    client.disconnect();
    expect((await execute(replicas[1]!, keys.flight.key, "return 1")).status).toBe(200);
  }, 60_000);

  test("tokensPerDay: counted from one replica's execution, refused on the other until the UTC day ends", async () => {
    expect((await execute(replicas[0]!, keys.tokens.key, "return 'a few tokens'")).status).toBe(
      200,
    );
    const { client, limiter: l } = limiter();
    // The count is added when the execution's audit record is written, right after it.
    const deadline = Date.now() + 5000;
    while ((await l.usage("tokens")).tokensToday === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect((await l.usage("tokens")).tokensToday).toBeGreaterThan(1);
    client.disconnect();
    const refused = await execute(replicas[1]!, keys.tokens.key, "return 2");
    expect(refused.status).toBe(429);
    expect(refused.body.error?.data).toMatchObject({ quota: "tokensPerDay", limit: 1 });
    const now = new Date();
    const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
    const expected = Math.ceil((midnight - Date.now()) / 1000);
    expect(Math.abs(Number(refused.retryAfter) - expected)).toBeLessThanOrEqual(5);
  }, 60_000);

  test("toolCallsPerExecution: the call past the limit fails in the program with QUOTA_EXCEEDED", async () => {
    const caught = await execute(
      replicas[0]!,
      keys.calls.key,
      `const codes = [];
       for (let i = 0; i < 3; i++) {
         try { await everything.echo({ message: String(i) }); codes.push("ok"); } catch (e) { codes.push(e.code); }
       }
       return codes;`,
    );
    expect(caught.status).toBe(200);
    expect(JSON.parse(caught.body.result!.content[0]!.text.split("\n\n[session")[0]!)).toEqual([
      "ok",
      "ok",
      "QUOTA_EXCEEDED",
    ]);
    const uncaught = await execute(
      replicas[1]!,
      keys.calls.key,
      `for (let i = 0; i < 3; i++) await everything.echo({ message: String(i) }); return "never"`,
    );
    expect(uncaught.body.result?.isError).toBe(true);
    expect(uncaught.body.result?.content[0]?.text).toContain("QUOTA_EXCEEDED");
  }, 60_000);

  test("an MCP client driven by the SDK gets the refusal as an SdkHttpError with status 429 and the typed body", async () => {
    const client = new Client({ name: "quota", version: "1" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(replicas[0]!.url), {
        requestInit: { headers: { authorization: `Bearer ${keys.sdk.key}` } },
      }),
    );
    try {
      await client.callTool({ name: "execute_code", arguments: { code: "return 0" } });
      const error = await client
        .callTool({ name: "execute_code", arguments: { code: "return 1" } })
        .then(
          () => undefined,
          (e: unknown) => e as Error,
        );
      expect(error).toBeInstanceOf(SdkHttpError);
      expect((error as SdkHttpError).status).toBe(429);
      expect(String(error)).toContain("QUOTA_EXCEEDED");
    } finally {
      await client.close();
    }
  }, 60_000);
});
