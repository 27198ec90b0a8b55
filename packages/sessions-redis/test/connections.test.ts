import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ErrorCodes, hasErrorCode, sessionData } from "@mcp-optimizer/core";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createRedisSessionStore, type RedisSessionStore } from "../src/index.js";
import { freePort, RedisServer } from "./redis-server.js";

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await wait(50);
  }
}

describe("rediss:// (TLS) with a password", () => {
  const PASSWORD = "pw-Zq81LmTt3";
  let certs: string;
  let server: RedisServer;
  let tlsPort: number;
  let ca: Buffer;
  const stores: RedisSessionStore[] = [];

  beforeAll(async () => {
    // A throwaway CA and a server certificate for 127.0.0.1, made with openssl.
    certs = mkdtempSync(join(tmpdir(), "mcpo-redis-tls-"));
    const ssl = (...args: string[]) => {
      try {
        execFileSync("openssl", args, { cwd: certs, stdio: "pipe" });
      } catch (error) {
        throw new Error(
          `openssl is needed to make the TLS test's certificates (apt-get install openssl): ${(error as Error).message}`,
        );
      }
    };
    ssl(
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "ca.key",
      "-out",
      "ca.crt",
      "-days",
      "1",
      "-subj",
      "/CN=mcpo test CA",
    );
    ssl(
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "server.key",
      "-out",
      "server.csr",
      "-subj",
      "/CN=127.0.0.1",
    );
    writeFileSync(join(certs, "ext.cnf"), "subjectAltName=IP:127.0.0.1\n");
    ssl(
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "server.crt",
      "-days",
      "1",
      "-extfile",
      "ext.cnf",
    );
    ca = readFileSync(join(certs, "ca.crt"));
    tlsPort = await freePort();
    server = await RedisServer.start({
      args: [
        "--tls-port",
        String(tlsPort),
        "--tls-cert-file",
        join(certs, "server.crt"),
        "--tls-key-file",
        join(certs, "server.key"),
        "--tls-ca-cert-file",
        join(certs, "ca.crt"),
        "--tls-auth-clients",
        "no",
        "--requirepass",
        PASSWORD,
      ],
    });
  });

  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await server?.stop();
    if (certs) rmSync(certs, { recursive: true, force: true });
  });

  const open = (url: string, withCa = true) => {
    const s = createRedisSessionStore({
      url,
      prefix: "tls:",
      connectTimeoutMs: 1500,
      ...(withCa ? { redisOptions: { tls: { ca } } } : {}),
    });
    stores.push(s);
    return s;
  };

  test("serves sessions over TLS with the password from the URL", async () => {
    const store = open(`rediss://:${PASSWORD}@127.0.0.1:${tlsPort}`);
    const created = await store.create({ id: "tls-1", state: { secure: true } });
    await store.update("tls-1", 1, { ...sessionData(created), state: { secure: "yes" } });
    expect((await store.get("tls-1"))!.state).toEqual({ secure: "yes" });
    // It really went over TLS: the plain port holds the same data.
    const plain = new Redis({ port: server.port, password: PASSWORD });
    expect(await plain.hget("tls:s:{tls-1}", "v")).toBe("2");
    plain.disconnect();
  });

  test("a wrong password, an unknown CA or plain text on the TLS port: SESSION_STORE_UNAVAILABLE without the secret", async () => {
    const cases = [
      open(`rediss://:not-${PASSWORD}@127.0.0.1:${tlsPort}`),
      open(`rediss://:${PASSWORD}@127.0.0.1:${tlsPort}`, false),
      open(`redis://:${PASSWORD}@127.0.0.1:${tlsPort}`, false),
    ];
    for (const store of cases) {
      const error = await store.get("tls-1").catch((e: unknown) => e);
      expect(hasErrorCode(error, ErrorCodes.SESSION_STORE_UNAVAILABLE), String(error)).toBe(true);
      expect(JSON.stringify({ message: (error as Error).message })).not.toContain(PASSWORD);
    }
  });

  test("a wrong or missing password says authentication failed, with the address and no secret", async () => {
    const cases = [
      open(`rediss://:not-${PASSWORD}@127.0.0.1:${tlsPort}`),
      createRedisSessionStore({ url: `redis://127.0.0.1:${server.port}`, connectTimeoutMs: 1500 }),
      createRedisSessionStore({
        url: `redis://someone:not-${PASSWORD}@127.0.0.1:${server.port}`,
        connectTimeoutMs: 1500,
      }),
    ];
    stores.push(...cases);
    for (const store of cases) {
      const error = await store.ping().catch((e: unknown) => e);
      expect(hasErrorCode(error, ErrorCodes.SESSION_STORE_UNAVAILABLE), String(error)).toBe(true);
      const message = (error as Error).message;
      expect(message).toMatch(/refused authentication/);
      expect(message).not.toMatch(/unreachable|reconnects by itself/);
      expect(message).toMatch(/127\.0\.0\.1:\d+/);
      expect(message).not.toContain(PASSWORD);
      expect((error as { details?: { reason?: string } }).details?.reason).toBe("authentication");
    }
  });
});

describe("Sentinel", () => {
  let master: RedisServer;
  let replica: RedisServer;
  let sentinel: RedisServer;
  let store: RedisSessionStore;

  beforeAll(async () => {
    master = await RedisServer.start();
    replica = await RedisServer.start({ args: ["--replicaof", "127.0.0.1", String(master.port)] });
    sentinel = await RedisServer.start({
      sentinelConfig: [
        `sentinel monitor mymaster 127.0.0.1 ${master.port} 1`,
        "sentinel down-after-milliseconds mymaster 1000",
        "sentinel failover-timeout mymaster 10000",
        "",
      ].join("\n"),
    });
    store = createRedisSessionStore({
      sentinels: [{ host: "127.0.0.1", port: sentinel.port }],
      name: "mymaster",
      prefix: "sen:",
      connectTimeoutMs: 2000,
      maxReconnectDelayMs: 200,
    });
  }, 60_000);

  afterAll(async () => {
    await store?.close();
    await Promise.all([sentinel?.stop(), replica?.stop(), master?.stop()]);
  });

  test("finds the master through the Sentinel and follows a failover to the replica", async () => {
    const created = await store.create({ id: "sen-1", state: { n: 1 } });
    await store.update("sen-1", 1, { ...sessionData(created), state: { n: 2 } });
    // Replication is asynchronous: wait until the replica has version 2 before the kill.
    const fromReplica = new Redis({ port: replica.port });
    await until(
      async () => ((await fromReplica.hget("sen:s:{sen-1}", "v")) === "2" ? true : undefined),
      "replication",
    );
    fromReplica.disconnect();

    await master.kill("SIGKILL");
    const error = await store.get("sen-1").catch((e: unknown) => e);
    expect(hasErrorCode(error, ErrorCodes.SESSION_STORE_UNAVAILABLE), String(error)).toBe(true);

    // The Sentinel promotes the replica; the same store finds it and serves again.
    const record = await until(() => store.get("sen-1"), "failover", 45_000);
    expect(record!.state).toEqual({ n: 2 });
    const next = await until(
      () => store.update("sen-1", 2, { ...sessionData(record!), state: { n: 3 } }),
      "a write on the new master",
    );
    expect(next.version).toBe(3);
    const asked = new Redis({ port: sentinel.port });
    const [, port] = (await asked.call(
      "SENTINEL",
      "get-master-addr-by-name",
      "mymaster",
    )) as string[];
    asked.disconnect();
    expect(Number(port)).toBe(replica.port);
  }, 60_000);
});
