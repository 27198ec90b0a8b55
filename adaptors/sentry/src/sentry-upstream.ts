import { ErrorCodes, OptimizerError, type ServerConfig } from "@mcp-optimizer/core";

/** Sentry's hosted MCP endpoint (Streamable HTTP, bearer token). */
export const SENTRY_HOSTED_MCP_URL = "https://mcp.sentry.dev/mcp";

export interface SentryUpstreamOptions {
  accessToken: string;
  transport: "stdio" | "http";
  host?: string | undefined;
  insecureHttp?: boolean | undefined;
  organization?: string | undefined;
  project?: string | undefined;
  constrain?: boolean | undefined;
  skills?: string[] | undefined;
  command?: { command: string; args?: string[] } | undefined;
  url?: string | undefined;
  callTimeoutMs?: number | undefined;
}

/** The installed @sentry/mcp-server's bin (its package's main file), or a clear error. */
export function resolveSentryMcpBin(): string {
  try {
    return new URL(import.meta.resolve("@sentry/mcp-server")).pathname;
  } catch (error) {
    throw new OptimizerError(
      ErrorCodes.INVALID_CONFIG,
      'The Sentry MCP server is not installed: add "@sentry/mcp-server" to your dependencies, or pass `command` or `transport: "http"`.',
      { cause: error },
    );
  }
}

/**
 * The `mcpServers` entry of the Sentry MCP server. The token goes only into the child's
 * environment (stdio) or the Authorization header (HTTP): both stay in the host, and core
 * scrubs their values from everything that leaves it.
 */
export function sentryServerConfig(options: SentryUpstreamOptions): ServerConfig {
  if (options.transport === "http") {
    return {
      type: "http",
      url: options.url ?? SENTRY_HOSTED_MCP_URL,
      headers: { Authorization: `Bearer ${options.accessToken}` },
      ...(options.callTimeoutMs ? { timeout: options.callTimeoutMs } : {}),
    };
  }
  const args: string[] = [];
  if (options.host) args.push(`--host=${options.host}`);
  if (options.insecureHttp) args.push("--insecure-http");
  if (options.constrain && options.organization)
    args.push(`--organization-slug=${options.organization}`);
  if (options.constrain && options.project) args.push(`--project-slug=${options.project}`);
  if (options.skills?.length) args.push(`--skills=${options.skills.join(",")}`);
  const base = options.command ?? { command: process.execPath, args: [resolveSentryMcpBin()] };
  return {
    command: base.command,
    args: [...(base.args ?? []), ...args],
    // Not --access-token: arguments are visible to every local user in the process list.
    env: { SENTRY_ACCESS_TOKEN: options.accessToken },
    ...(options.callTimeoutMs ? { timeout: options.callTimeoutMs } : {}),
  };
}
