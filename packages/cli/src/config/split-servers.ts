/**
 * `mcpServers` holds MCP servers (`command` or `url`) and OpenAPI documents (`openapi`) side
 * by side; core validates the former, @mcp-optimizer/upstream-openapi the latter.
 */
export interface SplitServers {
  /** MCP servers, for core's `mcpServers`. */
  mcp: Record<string, unknown>;
  /** Entries with an `openapi` field, by name. */
  openapi: Record<string, Record<string, unknown>>;
}

export function splitServers(servers: Record<string, unknown>): SplitServers {
  const mcp: Record<string, unknown> = {};
  const openapi: Record<string, Record<string, unknown>> = {};
  for (const [name, entry] of Object.entries(servers)) {
    if (typeof entry === "object" && entry !== null && "openapi" in entry)
      openapi[name] = entry as Record<string, unknown>;
    else mcp[name] = entry;
  }
  return { mcp, openapi };
}
