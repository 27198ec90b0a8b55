import { describeSessionStore } from "@mcp-optimizer/core/testing";
import { afterAll } from "vitest";
import { createRedisSessionStore } from "../src/index.js";
import { RedisServer } from "./redis-server.js";

// core's SessionStore conformance suite against one real redis-server of our own.
let server: RedisServer | undefined;

// Every store the factory makes talks to the same server: two of them are two replicas.
describeSessionStore(
  "redis (single node)",
  async () => {
    server ??= await RedisServer.start();
    return createRedisSessionStore({
      url: server.url,
      prefix: "conf:",
      maxSessionBytes: 64 * 1024,
    });
  },
  { shared: true, maxSessionBytes: 64 * 1024 },
);

describeSessionStore(
  "redis (single node, cache on)",
  async () => {
    server ??= await RedisServer.start();
    return createRedisSessionStore({ url: server.url, prefix: "conf-cache:", cache: true });
  },
  { shared: true },
);

describeSessionStore(
  "redis (single node, eventual cache)",
  async () => {
    server ??= await RedisServer.start();
    return createRedisSessionStore({
      url: server.url,
      prefix: "conf-eventual:",
      cache: { consistency: "eventual" },
    });
  },
  { shared: true },
);

afterAll(async () => {
  await server?.stop();
});
