import { homedir } from "node:os";
import { basename, join } from "node:path";
import {
  ErrorCodes,
  HttpServerConfigSchema,
  OptimizerError,
  StdioServerConfigSchema,
} from "@mcp-optimizer/core";
import { readConfigFile } from "./load-config.js";

/** The MCP client configs `init --import` understands. */
export type ClientConfigKind = "claude-desktop" | "mcp-json" | "vscode" | "cursor";

export interface ImportedServers {
  /** Servers in the standard `mcpServers` shape, unchanged apart from dropped unknown fields. */
  mcpServers: Record<string, Record<string, unknown>>;
  /** Which client's shape the file had. */
  kind: ClientConfigKind;
  /** Fields that were dropped because the optimizer has no use for them. */
  dropped: string[];
}

const stdioFields = new Set(Object.keys(StdioServerConfigSchema.shape));
const httpFields = new Set(Object.keys(HttpServerConfigSchema.shape));

/** Where Claude Desktop keeps its config on this platform. */
export function claudeDesktopConfigPath(
  platform: NodeJS.Platform = process.platform,
  env: Record<string, string | undefined> = process.env,
): string {
  const home = env.HOME ?? homedir();
  if (platform === "darwin")
    return join(home, "Library", "Application Support", "Claude", "claude_desktop_config.json");
  if (platform === "win32")
    return join(
      env.APPDATA ?? join(home, "AppData", "Roaming"),
      "Claude",
      "claude_desktop_config.json",
    );
  return join(env.XDG_CONFIG_HOME ?? join(home, ".config"), "Claude", "claude_desktop_config.json");
}

/** Short names accepted by `--import` in place of a path. */
export function resolveImportPath(value: string, cwd: string): string {
  if (value === "claude-desktop") return claudeDesktopConfigPath();
  if (value === "claude-code") return join(cwd, ".mcp.json");
  if (value === "cursor") return join(cwd, ".cursor", "mcp.json");
  if (value === "vscode") return join(cwd, ".vscode", "mcp.json");
  return value;
}

/**
 * Reads an MCP client's config: Claude Desktop's `claude_desktop_config.json`, Claude Code's
 * `.mcp.json`, Cursor's `mcp.json` (all `mcpServers`) or VS Code's `mcp.json` (`servers`).
 */
export async function importClientConfig(file: string): Promise<ImportedServers> {
  const raw = await readConfigFile(file);
  if (typeof raw !== "object" || raw === null) {
    throw new OptimizerError(ErrorCodes.INVALID_CONFIG, `${file}: not an MCP client config.`, {
      details: { file },
    });
  }
  const record = raw as Record<string, unknown>;
  let servers: unknown;
  let kind: ClientConfigKind;
  if (record.mcpServers !== undefined) {
    servers = record.mcpServers;
    const name = basename(file);
    kind =
      name === "claude_desktop_config.json"
        ? "claude-desktop"
        : file.includes(".cursor")
          ? "cursor"
          : "mcp-json";
  } else if (record.servers !== undefined) {
    servers = record.servers;
    kind = "vscode";
  } else {
    throw new OptimizerError(
      ErrorCodes.INVALID_CONFIG,
      `${file}: has neither "mcpServers" (Claude Desktop, Claude Code, Cursor) nor "servers" (VS Code).`,
      { details: { file } },
    );
  }
  if (typeof servers !== "object" || servers === null || Array.isArray(servers)) {
    throw new OptimizerError(
      ErrorCodes.INVALID_CONFIG,
      `${file}: "${kind === "vscode" ? "servers" : "mcpServers"}" must be an object of servers.`,
      { details: { file } },
    );
  }
  const dropped: string[] = [];
  const mcpServers: Record<string, Record<string, unknown>> = {};
  for (const [name, value] of Object.entries(servers as Record<string, unknown>)) {
    if (typeof value !== "object" || value === null) {
      throw new OptimizerError(
        ErrorCodes.INVALID_CONFIG,
        `${file}: server "${name}" is not an object.`,
        { details: { file, server: name } },
      );
    }
    const entry = value as Record<string, unknown>;
    const known = "command" in entry ? stdioFields : httpFields;
    const kept: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(entry)) {
      if (known.has(key)) kept[key] = field;
      else dropped.push(`${name}.${key}`);
    }
    mcpServers[name] = kept;
  }
  return { mcpServers, kind, dropped };
}
