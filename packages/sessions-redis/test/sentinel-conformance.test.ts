import { describeSessionStore } from "@mcp-optimizer/core/testing";
import { afterAll } from "vitest";
import { createRedisSessionStore } from "../src/index.js";
import { RedisServer } from "./redis-server.js";

// core's conformance suite (leases included) through a Sentinel: a master found by name.
let servers: { master: RedisServer; sentinel: RedisServer } | undefined;

async function started(): Promise<{ master: RedisServer; sentinel: RedisServer }> {
  if (servers) return servers;
  const master = await RedisServer.start();
  const sentinel = await RedisServer.start({
    sentinelConfig: [`sentinel monitor mymaster 127.0.0.1 ${master.port} 1`, ""].join("\n"),
  });
  servers = { master, sentinel };
  return servers;
}

describeSessionStore(
  "redis (through Sentinel)",
  async () =>
    createRedisSessionStore({
      sentinels: [{ host: "127.0.0.1", port: (await started()).sentinel.port }],
      name: "mymaster",
      prefix: "conf-sen:",
    }),
  { shared: true },
);

afterAll(async () => {
  await Promise.all([servers?.sentinel.stop(), servers?.master.stop()]);
});
