import { homedir } from "node:os";
import { basename, dirname, join } from "node:path";
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
  /** Client-specific variables rewritten to what the optimizer expands, e.g. `${env:X}` -> `${X}`. */
  translated: string[];
}

/**
 * VS Code and Cursor write `${env:NAME}`, `${workspaceFolder}`, `${userHome}` and
 * `${input:id}`; the optimizer expands only `${NAME}` from the environment. Rewrites them so
 * that imported servers start as they did in the client: `${env:NAME}` -> `${NAME}`, the
 * workspace folder -> its path, `${userHome}` -> `${HOME}`, and a prompted `${input:api-key}`
 * -> `${API_KEY}` (to be exported, since nobody is there to prompt).
 */
export function translateClientVariables(
  value: string,
  workspaceFolder: string,
): { value: string; inputs: string[]; changes: string[] } {
  const inputs: string[] = [];
  const changes: string[] = [];
  const rewrite = (inner: string): string | undefined => {
    if (inner.startsWith("env:")) return `\${${inner.slice(4)}}`;
    if (inner === "workspaceFolder" || inner === "workspaceRoot") return workspaceFolder;
    if (inner === "workspaceFolderBasename") return basename(workspaceFolder);
    if (inner === "userHome") return `\${HOME}`;
    if (inner === "pathSeparator" || inner === "/") return "/";
    if (inner.startsWith("input:")) {
      const name = inner
        .slice(6)
        .replace(/[^A-Za-z0-9]+/g, "_")
        .toUpperCase();
      inputs.push(name);
      return `\${${name}}`;
    }
    return undefined;
  };
  const out = value.replace(/\$\{([^}]+)\}/g, (whole, inner: string) => {
    const to = rewrite(inner);
    if (to === undefined) return whole;
    // Only the placeholders are reported: the rest of the value may be a literal secret.
    changes.push(`${whole} -> ${to}`);
    return to;
  });
  return { value: out, inputs, changes };
}

function translateDeep(
  value: unknown,
  workspaceFolder: string,
  path: string,
  notes: string[],
): unknown {
  if (typeof value === "string") {
    const t = translateClientVariables(value, workspaceFolder);
    if (t.changes.length > 0) {
      notes.push(
        `${path}: ${t.changes.join(", ")}${t.inputs.length ? ` (export ${t.inputs.join(", ")}: nobody is there to answer a prompt)` : ""}`,
      );
    }
    return t.value;
  }
  if (Array.isArray(value))
    return value.map((v, i) => translateDeep(v, workspaceFolder, `${path}.${i}`, notes));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        translateDeep(v, workspaceFolder, `${path}.${k}`, notes),
      ]),
    );
  }
  return value;
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
  const translated: string[] = [];
  // A project file (.vscode/mcp.json, .cursor/mcp.json) belongs to the folder above it.
  const folder = dirname(file);
  const workspaceFolder = /^\.(vscode|cursor)$/.test(basename(folder)) ? dirname(folder) : folder;
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
      if (known.has(key))
        kept[key] = translateDeep(field, workspaceFolder, `${name}.${key}`, translated);
      else dropped.push(`${name}.${key}`);
    }
    mcpServers[name] = kept;
  }
  return { mcpServers, kind, dropped, translated };
}
