import {
  createMemoryToolUsageStore,
  createOpenAIEmbedder,
  type MCPOptimizer,
  REDIS_SESSIONS_PACKAGE,
  type ToolUsageStore,
} from "@mcp-optimizer/core";
import type { LoadedConfig } from "../config/load-config.js";
import { importOptional } from "./resolve-package.js";

interface RedisUsageModule {
  createRedisToolUsageStore(options: { url: string; prefix?: string }): ToolUsageStore;
}

/**
 * The config's `search` section on the optimizer's catalog: ranking learned from use (on by
 * default; in Redis beside the sessions when there is one) and hybrid ranking with an
 * embeddings endpoint. Returns notes and what to close.
 */
export async function configureSearch(
  optimizer: MCPOptimizer,
  loaded: LoadedConfig,
  redisUrl: string | undefined,
): Promise<{ notes: string[]; close: () => Promise<void> }> {
  const config = loaded.config.search ?? {};
  const notes: string[] = [];
  let usage: ToolUsageStore | undefined;
  if (config.learnFromUse !== false) {
    if (redisUrl) {
      const loadedModule = await importOptional<RedisUsageModule>(REDIS_SESSIONS_PACKAGE);
      const prefix = loaded.config.sessions?.keyPrefix;
      if (loadedModule.module)
        usage = loadedModule.module.createRedisToolUsageStore({
          url: redisUrl,
          ...(prefix ? { prefix } : {}),
        });
      else notes.push(`search learns in this process only: ${loadedModule.error}`);
    }
    usage ??= createMemoryToolUsageStore();
  }
  const e = config.embeddings;
  const embedder = e
    ? createOpenAIEmbedder({
        baseUrl: e.baseUrl,
        model: e.model,
        ...(e.apiKey ? { apiKey: e.apiKey } : {}), // expanded (and listed as a secret) by loadConfig
        ...(e.dimensions ? { dimensions: e.dimensions } : {}),
        ...(e.timeoutMs ? { timeoutMs: e.timeoutMs } : {}),
      })
    : undefined;
  optimizer.catalog.configureSearch({
    ...(usage ? { usage } : {}),
    ...(embedder ? { embedder } : {}),
  });
  return {
    notes,
    close: async () => {
      await optimizer.catalog.flushSearch();
      await usage?.close().catch(() => {});
    },
  };
}
