import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { GatewayIdentity } from "../auth/identity.js";

/**
 * The 2025-era MCP sessions (`Mcp-Session-Id`) the gateway handed out, where every replica
 * sees them: any replica serves a session's next request, and a session belongs to the
 * tenant and principal that opened it (anyone else is answered "not found").
 */
export interface McpSessionRegistry {
  /** Opens a session for this identity; returns its id. */
  open(identity: GatewayIdentity): Promise<string>;
  /** Whether the id is a live session of this identity; slides its time to live. */
  check(id: string, identity: GatewayIdentity): Promise<boolean>;
  /** Ends it; false when it was not this identity's. */
  close(id: string, identity: GatewayIdentity): Promise<boolean>;
}

function owner(identity: GatewayIdentity): string {
  return JSON.stringify([identity.tenant, identity.principal]);
}

/** Session ids the client sends are ours only when they look like ours. */
const ID = /^[0-9a-f-]{36}$/;

export function createRedisMcpSessionRegistry(options: {
  redis: Redis;
  prefix: string;
  ttlMs: number;
}): McpSessionRegistry {
  const key = (id: string) => `${options.prefix}gw:mcp-session:${id}`;
  const { redis, ttlMs } = options;
  return {
    async open(identity) {
      const id = randomUUID();
      await redis.set(key(id), owner(identity), "PX", ttlMs);
      return id;
    },
    async check(id, identity) {
      if (!ID.test(id)) return false;
      const stored = await redis.getex(key(id), "PX", ttlMs);
      return stored === owner(identity);
    },
    async close(id, identity) {
      if (!(await this.check(id, identity))) return false;
      await redis.del(key(id));
      return true;
    },
  };
}

export function createMemoryMcpSessionRegistry(options: { ttlMs: number }): McpSessionRegistry {
  const sessions = new Map<string, { owner: string; until: number }>();
  return {
    async open(identity) {
      const id = randomUUID();
      sessions.set(id, { owner: owner(identity), until: Date.now() + options.ttlMs });
      return id;
    },
    async check(id, identity) {
      const entry = sessions.get(id);
      if (!entry || entry.until <= Date.now()) {
        sessions.delete(id);
        return false;
      }
      if (entry.owner !== owner(identity)) return false;
      entry.until = Date.now() + options.ttlMs;
      return true;
    },
    async close(id, identity) {
      if (!(await this.check(id, identity))) return false;
      sessions.delete(id);
      return true;
    },
  };
}
