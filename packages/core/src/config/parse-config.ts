import type * as z from "zod";
import { ErrorCodes, OptimizerError } from "../errors.js";
import {
  type McpServersConfig,
  McpServersSchema,
  type ResolvedSandboxConfig,
  SandboxConfigSchema,
} from "./schema.js";

/** Turns zod issues into one message that names each bad field by its path. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], root: string): string {
  return issues
    .map((issue) => {
      const path = [root, ...issue.path.map(String)].filter(Boolean).join(".");
      if (issue.code === "unrecognized_keys") {
        return `${path}: unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
      }
      return `${path}: ${issue.message}`;
    })
    .join("; ");
}

function invalid(root: string, issues: readonly z.core.$ZodIssue[]): OptimizerError {
  return new OptimizerError(
    ErrorCodes.INVALID_CONFIG,
    `Invalid configuration: ${formatIssues(issues, root)}.`,
    {
      details: {
        issues: issues.map((i) => ({
          path: [root, ...i.path.map(String)].join("."),
          message: i.message,
        })),
      },
    },
  );
}

export function parseSandboxConfig(input: unknown): ResolvedSandboxConfig {
  const parsed = SandboxConfigSchema.safeParse(input ?? {});
  if (!parsed.success) throw invalid("sandboxConfig", parsed.error.issues);
  return parsed.data;
}

export interface ParseServersOptions {
  /** Variables for `${VAR}` expansion. Default: process.env. */
  env?: Record<string, string | undefined>;
}

/**
 * Validates an `mcpServers` map and expands `${VAR}` and `${VAR:-default}` in commands,
 * arguments, env values, URLs and headers. Returns the servers and every expanded value
 * that came from the environment or an env/header field (the secrets to redact).
 */
export function parseMcpServers(
  input: unknown,
  options: ParseServersOptions = {},
): { servers: McpServersConfig; secrets: string[] } {
  const parsed = McpServersSchema.safeParse(input ?? {});
  if (!parsed.success) throw invalid("mcpServers", parsed.error.issues);
  const env = options.env ?? process.env;
  const secrets = new Set<string>();
  const servers: McpServersConfig = {};
  for (const [name, server] of Object.entries(parsed.data)) {
    const at = `mcpServers.${name}`;
    const expand = (value: string, path: string, secret: boolean) => {
      const out = expandVariables(value, env, path, secrets);
      if (secret && out.length >= 4) secrets.add(out);
      return out;
    };
    if ("command" in server) {
      servers[name] = {
        ...server,
        command: expand(server.command, `${at}.command`, false),
        args: server.args.map((a, i) => expand(a, `${at}.args.${i}`, false)),
        ...(server.env
          ? { env: mapValues(server.env, (v, k) => expand(v, `${at}.env.${k}`, true)) }
          : {}),
      };
    } else {
      servers[name] = {
        ...server,
        url: expand(server.url, `${at}.url`, false),
        ...(server.headers
          ? { headers: mapValues(server.headers, (v, k) => expand(v, `${at}.headers.${k}`, true)) }
          : {}),
      };
    }
  }
  return { servers, secrets: [...secrets] };
}

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export function expandVariables(
  value: string,
  env: Record<string, string | undefined>,
  path: string,
  secrets?: Set<string>,
): string {
  return value.replace(VARIABLE, (_match, name: string, fallback: string | undefined) => {
    const found = env[name];
    if (found !== undefined && found !== "") {
      if (secrets && found.length >= 4) secrets.add(found);
      return found;
    }
    if (fallback !== undefined) return fallback;
    throw new OptimizerError(
      ErrorCodes.INVALID_CONFIG,
      `Invalid configuration: ${path} uses \${${name}}, which is not set. Export ${name} or write \${${name}:-default}.`,
      { details: { path, variable: name } },
    );
  });
}

function mapValues(
  record: Record<string, string>,
  fn: (value: string, key: string) => string,
): Record<string, string> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, fn(v, k)]));
}
