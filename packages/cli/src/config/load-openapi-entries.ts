import { dirname } from "node:path";
import {
  ErrorCodes,
  formatIssues,
  type MemoConfig,
  MemoConfigSchema,
  OptimizerError,
} from "@mcp-optimizer/core";
import { importOptional } from "../runtime/resolve-package.js";

export const OPENAPI_PACKAGE = "@mcp-optimizer/upstream-openapi";

/** What the CLI needs of @mcp-optimizer/upstream-openapi. */
export interface OpenApiModule {
  resolveOpenApiConfig(
    input: unknown,
    options: { env?: Record<string, string | undefined>; baseDir?: string; path?: string },
  ): { config: { disabled?: boolean } & Record<string, unknown>; secrets: string[] };
  createOpenApiUpstream(options: {
    name: string;
    config: never;
    secrets?: string[];
  }): import("@mcp-optimizer/core").Upstream;
}

/** One validated OpenAPI entry of the config. */
export interface OpenApiEntry {
  name: string;
  /** The entry, `${VAR}` expanded, its document path resolved against the config file. */
  config: Record<string, unknown>;
  /** The entry's `memo` setting (the engine's, not the upstream's). */
  memo?: MemoConfig;
}

/**
 * Validates the config's OpenAPI entries with @mcp-optimizer/upstream-openapi (loaded only
 * when there are some). Errors name the file and the field; `memo` is read here, as for
 * MCP servers. Returns the entries and their secrets (auth and header values).
 */
export async function loadOpenApiEntries(
  entries: Record<string, Record<string, unknown>>,
  file: string,
  env: Record<string, string | undefined> = process.env,
): Promise<{ entries: OpenApiEntry[]; secrets: string[]; module?: OpenApiModule }> {
  const names = Object.keys(entries);
  if (names.length === 0) return { entries: [], secrets: [] };
  const loaded = await importOptional<OpenApiModule>(OPENAPI_PACKAGE);
  if (!loaded.module) {
    throw new OptimizerError(
      ErrorCodes.INVALID_CONFIG,
      `${file}: mcpServers.${names[0]} names an OpenAPI document but ${loaded.error}.`,
    );
  }
  const out: OpenApiEntry[] = [];
  const secrets: string[] = [];
  for (const name of names) {
    const { memo, ...rest } = entries[name]!;
    const at = `mcpServers.${name}`;
    try {
      const memoParsed = MemoConfigSchema.optional().safeParse(memo);
      if (!memoParsed.success) {
        throw new OptimizerError(
          ErrorCodes.INVALID_CONFIG,
          formatIssues(memoParsed.error.issues, `${at}.memo`),
        );
      }
      const resolved = loaded.module.resolveOpenApiConfig(rest, {
        env,
        baseDir: dirname(file),
        path: at,
      });
      secrets.push(...resolved.secrets);
      if (resolved.config.disabled) continue;
      out.push({
        name,
        config: resolved.config,
        ...(memoParsed.data !== undefined ? { memo: memoParsed.data } : {}),
      });
    } catch (error) {
      throw new OptimizerError(
        ErrorCodes.INVALID_CONFIG,
        `${file}: ${(error as Error).message.replace(/^Invalid configuration: /, "")}`,
        { cause: error, details: { file } },
      );
    }
  }
  return { entries: out, secrets, module: loaded.module };
}
