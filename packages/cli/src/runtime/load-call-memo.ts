import {
  type CallMemo,
  createCallMemo,
  createMemoryCallCache,
  type MemoConfig,
  memoSettings,
  parseMcpServers,
  REDIS_SESSIONS_PACKAGE,
  Telemetry,
} from "@mcp-optimizer/core";
import type { LoadedConfig } from "../config/load-config.js";
import { importOptional } from "./resolve-package.js";

interface RedisCallCacheModule {
  createRedisCallCache(options: {
    url: string;
    prefix?: string;
  }): import("@mcp-optimizer/core").CallCache;
}

/**
 * The memo of the servers whose config has `memo` (MCP servers and OpenAPI entries alike):
 * in Redis beside the sessions when `sessions.redisUrl` is set (replicas share it), else in
 * memory. Undefined when no server asks for it.
 */
export async function loadCallMemo(
  loaded: LoadedConfig,
  redisUrl: string | undefined,
  metrics: boolean,
): Promise<{ memo?: CallMemo; note?: string }> {
  // Hits, misses and invalidations go to the same global meter provider as the engine's metrics.
  const telemetry = new Telemetry({ metrics, traces: false });
  const settings: Record<string, MemoConfig | undefined> = {
    ...memoSettings(parseMcpServers(loaded.mcpServers).servers),
    ...Object.fromEntries(loaded.openapi.entries.map((e) => [e.name, e.memo])),
  };
  if (!Object.values(settings).some(Boolean)) return {};
  if (!redisUrl)
    return {
      memo: createCallMemo({ cache: createMemoryCallCache(), servers: settings, telemetry }),
    };
  const loadedModule = await importOptional<RedisCallCacheModule>(REDIS_SESSIONS_PACKAGE);
  if (!loadedModule.module) {
    return {
      memo: createCallMemo({ cache: createMemoryCallCache(), servers: settings, telemetry }),
      note: `memoised calls are kept in this process only: ${loadedModule.error}`,
    };
  }
  const prefix = loaded.config.sessions?.keyPrefix;
  return {
    memo: createCallMemo({
      cache: loadedModule.module.createRedisCallCache({
        url: redisUrl,
        ...(prefix ? { prefix } : {}),
      }),
      servers: settings,
      telemetry,
    }),
  };
}
