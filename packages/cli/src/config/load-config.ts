import { existsSync, readFileSync } from "node:fs";
import { dirname, extname, isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import {
  type DisabledServer,
  ErrorCodes,
  expandVariables,
  formatIssues,
  OptimizerError,
  parseMcpServers,
} from "@mcp-optimizer/core";
import {
  loadOpenApiEntries,
  type OpenApiEntry,
  type OpenApiModule,
} from "./load-openapi-entries.js";
import { type CliConfig, CliConfigSchema, CONFIG_ENV, CONFIG_FILE_NAMES } from "./schema.js";
import { splitServers } from "./split-servers.js";

export interface LoadedConfig {
  /** The parsed config (sandbox mode defaulted to "wasm"). */
  config: CliConfig;
  /** The file it came from; undefined when no file was found and defaults apply. */
  file: string | undefined;
  /** Expanded values that must never be printed (env and header values, the Redis URL). */
  secrets: string[];
  /** Servers left out (marked `disabled` in `config`) because variables they use are unset. */
  disabledServers: DisabledServer[];
  /** The MCP servers, for core's `mcpServers`. */
  mcpServers: Record<string, unknown>;
  /** The OpenAPI entries, validated, and the package that serves them (when there are some). */
  openapi: { entries: OpenApiEntry[]; module?: OpenApiModule };
}

export interface FindConfigOptions {
  /** The --config flag. */
  explicit?: string | undefined;
  /** Where to look. Default process.cwd(). */
  cwd?: string;
  /** Default process.env. */
  env?: Record<string, string | undefined>;
}

/** --config, then $MCPO_CONFIG, then the usual names in the working directory. */
export function findConfigFile(options: FindConfigOptions = {}): string | undefined {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const named = options.explicit ?? (env[CONFIG_ENV] || undefined);
  if (named !== undefined) {
    const file = isAbsolute(named) ? named : resolve(cwd, named);
    if (!existsSync(file)) {
      const via = options.explicit !== undefined ? "--config" : `$${CONFIG_ENV}`;
      throw new OptimizerError(
        ErrorCodes.INVALID_CONFIG,
        `${file}: no such config file (named by ${via}). Create one with \`mcp-optimizer init\`.`,
        { details: { file } },
      );
    }
    return file;
  }
  for (const name of CONFIG_FILE_NAMES) {
    const file = resolve(cwd, name);
    if (existsSync(file)) return file;
  }
  return undefined;
}

export interface LoadConfigOptions extends FindConfigOptions {
  /** Refuse the config when a server's `${VAR}` is unset. Default false: that server is disabled. */
  strict?: boolean;
}

/** Finds, reads and validates the config; without a file, returns the defaults. */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const file = findConfigFile(options);
  if (!file)
    return {
      config: parseConfigObject({}, "(defaults)", options.env),
      file: undefined,
      secrets: [],
      disabledServers: [],
      mcpServers: {},
      openapi: { entries: [] },
    };
  const raw = await readConfigFile(file);
  const disabledServers: DisabledServer[] = [];
  const config = parseConfigObject(raw, file, options.env, {
    strict: options.strict ?? false,
    onDisabled: (d) => disabledServers.push(d),
  });
  // MCP clients start `serve` in a directory of their choosing: a relative audit file means
  // next to the config, not wherever the process happens to start.
  const auditFile = config.telemetry?.auditFile;
  if (auditFile && !isAbsolute(auditFile) && config.telemetry) {
    config.telemetry.auditFile = resolve(dirname(file), auditFile);
  }
  const servers = splitServers(config.mcpServers);
  const { secrets } = parseMcpServers(servers.mcp, options.env ? { env: options.env } : {});
  const openapi = await loadOpenApiEntries(servers.openapi, file, options.env);
  const redis = config.sessions?.redisUrl;
  const embeddings = config.search?.embeddings;
  const searchSecrets = new Set<string>();
  if (embeddings?.apiKey) {
    embeddings.apiKey = expandVariables(
      embeddings.apiKey,
      options.env ?? process.env,
      "search.embeddings.apiKey",
      searchSecrets,
    );
    if (embeddings.apiKey.length >= 4) searchSecrets.add(embeddings.apiKey);
  }
  const privacy = config.privacy;
  if (privacy?.vaultKey) {
    privacy.vaultKey = expandVariables(
      privacy.vaultKey,
      options.env ?? process.env,
      "privacy.vaultKey",
      searchSecrets,
    );
    searchSecrets.add(privacy.vaultKey);
  }
  const presidio = privacy?.presidio;
  if (presidio) {
    const env = options.env ?? process.env;
    presidio.url = expandVariables(presidio.url, env, "privacy.presidio.url");
    for (const [name, value] of Object.entries(presidio.headers ?? {})) {
      const expanded = expandVariables(
        value,
        env,
        `privacy.presidio.headers.${name}`,
        searchSecrets,
      );
      presidio.headers![name] = expanded;
      if (expanded.length >= 4) searchSecrets.add(expanded);
    }
  }
  return {
    config,
    file,
    secrets: [...secrets, ...openapi.secrets, ...searchSecrets, ...(redis ? [redis] : [])],
    disabledServers,
    mcpServers: servers.mcp,
    openapi: {
      entries: openapi.entries,
      ...(openapi.module ? { module: openapi.module } : {}),
    },
  };
}

/** Reads JSON, or imports a .ts/.mjs/.js module's default export. */
export async function readConfigFile(file: string): Promise<unknown> {
  const ext = extname(file);
  if (ext === ".ts" || ext === ".mts" || ext === ".mjs" || ext === ".js") {
    try {
      const mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
      if (mod.default === undefined) {
        throw new OptimizerError(
          ErrorCodes.INVALID_CONFIG,
          `${file}: the module has no default export; write \`export default { mcpServers: {...} }\`.`,
          { details: { file } },
        );
      }
      return mod.default;
    } catch (error) {
      if ((error as { code?: unknown }).code === ErrorCodes.INVALID_CONFIG) throw error;
      throw new OptimizerError(
        ErrorCodes.INVALID_CONFIG,
        `${file}: cannot load: ${(error as Error).message}`,
        {
          cause: error,
          details: { file },
        },
      );
    }
  }
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new OptimizerError(
      ErrorCodes.INVALID_CONFIG,
      `${file}: cannot read: ${(error as Error).message}`,
      { cause: error, details: { file } },
    );
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new OptimizerError(
      ErrorCodes.INVALID_CONFIG,
      `${file}: not valid JSON: ${(error as Error).message}`,
      { cause: error, details: { file } },
    );
  }
}

export interface ParseConfigOptions {
  /** Refuse the config when a server's `${VAR}` is unset (one error naming all). Default true. */
  strict?: boolean;
  /** Hears of each server disabled for unset variables when not strict. */
  onDisabled?: (server: DisabledServer) => void;
}

/**
 * Validates a config object; errors name the file and each bad field's path. Not strict, a
 * server whose `${VAR}` is unset comes back marked `disabled` and the others are kept.
 */
export function parseConfigObject(
  raw: unknown,
  file: string,
  env: Record<string, string | undefined> = process.env,
  options: ParseConfigOptions = {},
): CliConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new OptimizerError(
      ErrorCodes.INVALID_CONFIG,
      `${file}: the config must be a JSON object with "mcpServers" (and optionally "sandbox", "sessions", "telemetry").`,
      { details: { file } },
    );
  }
  const input = raw as Record<string, unknown>;
  const sandbox = input.sandbox;
  const withDefaults = {
    ...input,
    sandbox:
      sandbox === undefined
        ? { mode: "wasm" }
        : typeof sandbox === "object" && sandbox !== null && !("mode" in sandbox)
          ? { mode: "wasm", ...sandbox }
          : sandbox,
  };
  const parsed = CliConfigSchema.safeParse(withDefaults);
  if (!parsed.success) {
    // An MCP client's own config (Claude Desktop's extra settings, VS Code's "servers") passed
    // as the optimizer's: say how to import it instead.
    const clientConfig = parsed.error.issues.some(
      (i) => i.path.length === 0 && i.code === "unrecognized_keys",
    );
    const hint = clientConfig
      ? `. If this is an MCP client's config, import its servers with \`mcp-optimizer init --import ${file}\``
      : "";
    throw new OptimizerError(
      ErrorCodes.INVALID_CONFIG,
      `${file}: ${parsed.error.issues.map((i) => formatIssues([i], i.path.length === 0 ? "(top level)" : "")).join("; ")}${hint}`,
      {
        details: {
          file,
          issues: parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })),
        },
      },
    );
  }
  const config = parsed.data;
  // ${VAR} in mcpServers is checked now so that the error names the file; expanded again later.
  try {
    const { disabled } = parseMcpServers(splitServers(config.mcpServers).mcp, {
      env,
      missingVariables: options.strict === false ? "disable" : "throw",
    });
    for (const server of disabled) {
      config.mcpServers[server.name] = { ...config.mcpServers[server.name]!, disabled: true };
      options.onDisabled?.(server);
    }
    if (config.sessions?.redisUrl) {
      config.sessions.redisUrl = expandVariables(
        config.sessions.redisUrl,
        env,
        "sessions.redisUrl",
      );
      if (!/^rediss?:\/\//.test(config.sessions.redisUrl)) {
        throw new OptimizerError(
          ErrorCodes.INVALID_CONFIG,
          "sessions.redisUrl: must start with redis:// or rediss://",
        );
      }
    }
  } catch (error) {
    throw new OptimizerError(
      ErrorCodes.INVALID_CONFIG,
      `${file}: ${(error as Error).message.replace(/^Invalid configuration: /, "")}`,
      { cause: error, details: { file } },
    );
  }
  return config;
}
