import type { Upstream } from "@mcp-optimizer/core";
import type { LoadedConfig } from "../config/load-config.js";

/** One upstream per OpenAPI entry of the config, beside the MCP servers. */
export function openApiUpstreams(loaded: LoadedConfig): Upstream[] {
  const { entries, module } = loaded.openapi;
  if (!module) return [];
  return entries.map((e) =>
    module.createOpenApiUpstream({
      name: e.name,
      config: e.config as never,
      secrets: loaded.secrets,
    }),
  );
}
