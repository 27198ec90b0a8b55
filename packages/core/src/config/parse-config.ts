import type * as z from "zod";
import { ErrorCodes, OptimizerError } from "../errors.js";
import {
  type McpServersConfig,
  McpServersSchema,
  type ResolvedSandboxConfig,
  SandboxConfigSchema,
  type ServerConfig,
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
  /**
   * A server whose `${VAR}` is unset: "throw" refuses the whole config with one INVALID_CONFIG
   * naming every missing variable; "disable" marks that server `disabled` (its values left
   * unexpanded) and reports it in `disabled`, so the others can start. Default "throw".
   */
  missingVariables?: "throw" | "disable";
}

/** A server left out because variables it uses are not set. */
export interface DisabledServer {
  name: string;
  /** The unset variables, each once, in the order they appear. */
  variables: string[];
  /** Each use: the variable and its field, e.g. "mcpServers.github.env.GITHUB_TOKEN". */
  uses: { variable: string; path: string }[];
}

/**
 * Validates an `mcpServers` map and expands `${VAR}` and `${VAR:-default}` in commands,
 * arguments, env values, URLs and headers. Returns the servers and every expanded value
 * that came from the environment or an env/header field (the secrets to redact). A server
 * marked `disabled` is not expanded: it never starts, so its variables need not be set.
 */
export function parseMcpServers(
  input: unknown,
  options: ParseServersOptions = {},
): { servers: McpServersConfig; secrets: string[]; disabled: DisabledServer[] } {
  const parsed = McpServersSchema.safeParse(input ?? {});
  if (!parsed.success) throw invalid("mcpServers", parsed.error.issues);
  const env = options.env ?? process.env;
  const secrets = new Set<string>();
  const servers: McpServersConfig = {};
  const disabled: DisabledServer[] = [];
  for (const [name, server] of Object.entries(parsed.data)) {
    if (server.disabled) {
      servers[name] = server;
      continue;
    }
    const missing: { variable: string; path: string }[] = [];
    const found = new Set<string>();
    const at = `mcpServers.${name}`;
    const expand = (value: string, path: string, secret: boolean) => {
      const out = substitute(value, env, found, (variable) => missing.push({ variable, path }));
      if (secret && out.length >= 4) found.add(out);
      return out;
    };
    const expanded: ServerConfig =
      "command" in server
        ? {
            ...server,
            command: expand(server.command, `${at}.command`, false),
            args: server.args.map((a, i) => expand(a, `${at}.args.${i}`, false)),
            ...(server.env
              ? { env: mapValues(server.env, (v, k) => expand(v, `${at}.env.${k}`, true)) }
              : {}),
          }
        : {
            ...server,
            url: expand(server.url, `${at}.url`, false),
            ...(server.headers
              ? {
                  headers: mapValues(server.headers, (v, k) =>
                    expand(v, `${at}.headers.${k}`, true),
                  ),
                }
              : {}),
          };
    // Values found are redacted even from a server left out: redacting more costs nothing.
    for (const value of found) secrets.add(value);
    if (missing.length === 0) {
      servers[name] = expanded;
      continue;
    }
    disabled.push({
      name,
      variables: [...new Set(missing.map((m) => m.variable))],
      uses: missing,
    });
    servers[name] = { ...server, disabled: true };
  }
  if (disabled.length > 0 && (options.missingVariables ?? "throw") === "throw") {
    throw new OptimizerError(ErrorCodes.INVALID_CONFIG, missingVariablesMessage(disabled), {
      details: {
        servers: disabled.map((d) => ({ name: d.name, variables: d.variables, uses: d.uses })),
      },
    });
  }
  return { servers, secrets: [...secrets], disabled };
}

/** One line naming every unset variable of every server, and how to fix it. */
export function missingVariablesMessage(disabled: readonly DisabledServer[]): string {
  const each = disabled
    .flatMap((d) => d.uses.map((u) => `${u.path} uses \${${u.variable}}`))
    .join(", ");
  const names = [...new Set(disabled.flatMap((d) => d.variables))];
  return `Invalid configuration: ${each}, which ${names.length > 1 ? "are" : "is"} not set. Export ${names.join(", ")}, or write \${NAME:-default}.`;
}

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Expands `${VAR}` in one value; an unset variable without a default is INVALID_CONFIG. */
export function expandVariables(
  value: string,
  env: Record<string, string | undefined>,
  path: string,
  secrets?: Set<string>,
): string {
  return substitute(value, env, secrets, (name) => {
    throw new OptimizerError(
      ErrorCodes.INVALID_CONFIG,
      `Invalid configuration: ${path} uses \${${name}}, which is not set. Export ${name} or write \${${name}:-default}.`,
      { details: { path, variable: name } },
    );
  });
}

/** Replaces each `${VAR}`; `onMissing` hears of an unset one (which is left as written). */
function substitute(
  value: string,
  env: Record<string, string | undefined>,
  secrets: Set<string> | undefined,
  onMissing: (name: string) => void,
): string {
  return value.replace(VARIABLE, (match, name: string, fallback: string | undefined) => {
    const found = env[name];
    if (found !== undefined && found !== "") {
      if (secrets && found.length >= 4) secrets.add(found);
      return found;
    }
    if (fallback !== undefined) return fallback;
    onMissing(name);
    return match;
  });
}

function mapValues(
  record: Record<string, string>,
  fn: (value: string, key: string) => string,
): Record<string, string> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, fn(v, k)]));
}
