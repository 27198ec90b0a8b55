import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import {
  type ContextLimits,
  ErrorCodes,
  expandVariables,
  type FeatureSettings,
  featuresFromEnv,
  formatIssues,
  type HttpAccessOptions,
  layerFeatures,
  type McpServersConfig,
  OptimizerError,
  parseMcpServers,
  resolveFeatures,
  type SandboxConfig,
  SandboxConfigSchema,
  type SessionAllowlist,
} from "@mcp-optimizer/core";
import {
  type ApiKeyEntry,
  type GatewayConfig,
  GatewayConfigSchema,
  type OAuthConfig,
  type Quotas,
} from "./gateway-config-schema.js";

/** The environment variables the gateway reads (over the file). */
export const GatewayEnv = {
  config: "MCPO_GATEWAY_CONFIG",
  listen: "MCPO_GATEWAY_LISTEN",
  publicUrl: "MCPO_GATEWAY_PUBLIC_URL",
  redisUrl: "MCPO_GATEWAY_REDIS_URL",
} as const;

/** The tenant every request acts for when no authentication is configured. */
export const ANONYMOUS_TENANT = "default";

export interface ResolvedTenant {
  name: string;
  /** Its servers: the shared top-level ones and its own. */
  mcpServers: McpServersConfig;
  allow: SessionAllowlist;
  sandbox: SandboxConfig;
  quotas: Quotas;
  /** Feature flags: the top-level `features`, then MCPO_FEATURE_*, then the tenant's own. */
  features: FeatureSettings;
  /** Each principal's context caps (the top-level `context`). */
  context: ContextLimits | undefined;
}

export interface ResolvedGatewayConfig {
  /** The file it came from; undefined on the embedded defaults. */
  file: string | undefined;
  host: string;
  port: number;
  path: string;
  /** The MCP endpoint's public URL: the resource identifier. */
  publicUrl: URL;
  access: HttpAccessOptions;
  drainTimeoutMs: number;
  drainGraceMs: number;
  maxOpenTenants: number;
  maxBodyBytes: number;
  sessionLease: { ttlMs?: number; waitMs?: number } | undefined;
  /** Resumable streams' limits; undefined: off. */
  resumableStreams: { ttlMs: number; maxEvents: number; leaseMs: number } | undefined;
  /** Redis for sessions, MCP sessions and quotas; undefined: this process's memory (one replica). */
  redisUrl: string | undefined;
  keyPrefix: string;
  sessionTtlMs: number | undefined;
  telemetry: GatewayConfig["telemetry"];
  /** Approvals before side effects, for every tenant (`tenants` inside it per tenant); undefined: off. */
  approvals: GatewayConfig["approvals"];
  oauth: (OAuthConfig & { audience: string }) | undefined;
  apiKeys: { file: string | undefined; keys: ApiKeyEntry[] } | undefined;
  tenants: Map<string, ResolvedTenant>;
  /** Values never to print: the Redis URL, expanded server credentials. */
  secrets: string[];
}

export interface LoadGatewayConfigOptions {
  /** The config file; default: $MCPO_GATEWAY_CONFIG, else the embedded defaults. */
  file?: string | undefined;
  /** Default process.env. */
  env?: Record<string, string | undefined>;
}

/** Reads the file (if any), applies the environment, validates everything; INVALID_CONFIG names the path. */
export function loadGatewayConfig(options: LoadGatewayConfigOptions = {}): ResolvedGatewayConfig {
  const env = options.env ?? process.env;
  const named = options.file ?? (env[GatewayEnv.config] || undefined);
  const file = named === undefined ? undefined : resolve(named);
  const raw = file === undefined ? {} : readJson(file);
  return resolveGatewayConfig(raw, file, env);
}

/** Validates a config object (as read from `file`) and resolves its defaults. */
export function resolveGatewayConfig(
  raw: unknown,
  file: string | undefined,
  env: Record<string, string | undefined> = process.env,
): ResolvedGatewayConfig {
  const where = file ?? "(embedded defaults)";
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw invalid(where, "the config must be a JSON object");
  }
  const parsed = GatewayConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new OptimizerError(
      ErrorCodes.INVALID_CONFIG,
      `${where}: ${parsed.error.issues.map((i) => formatIssues([i], i.path.length === 0 ? "(top level)" : "")).join("; ")}`,
      {
        details: {
          file: where,
          issues: parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })),
        },
      },
    );
  }
  const config = parsed.data;
  const gateway = config.gateway ?? {};
  const { host, port } = parseListen(
    env[GatewayEnv.listen] || gateway.listen || "127.0.0.1:8080",
    where,
  );
  const path = gateway.path ?? "/mcp";
  const publicUrl = new URL(
    env[GatewayEnv.publicUrl] || gateway.publicUrl || `http://${urlHost(host)}:${port}${path}`,
  );
  const secrets = new Set<string>();
  let redisUrl = env[GatewayEnv.redisUrl] || config.sessions?.redisUrl;
  if (redisUrl) {
    redisUrl = expandVariables(redisUrl, env, "sessions.redisUrl");
    if (!/^rediss?:\/\//.test(redisUrl))
      throw invalid(where, "sessions.redisUrl must start with redis:// or rediss://");
    secrets.add(redisUrl);
  }
  if (port === 0 && config.auth?.oauth && !(env[GatewayEnv.publicUrl] || gateway.publicUrl))
    throw invalid(
      where,
      "gateway.listen on port 0 needs gateway.publicUrl when auth.oauth is set: tokens name the URL clients use",
    );
  const oauth = config.auth?.oauth
    ? { ...config.auth.oauth, audience: config.auth.oauth.audience ?? publicUrl.href }
    : undefined;
  const apiKeys = config.auth?.apiKeys
    ? {
        file: config.auth.apiKeys.file
          ? resolveBeside(file, expandVariables(config.auth.apiKeys.file, env, "auth.apiKeys.file"))
          : undefined,
        keys: config.auth.apiKeys.keys ?? [],
      }
    : undefined;
  const tenants = resolveTenants(raw as Record<string, unknown>, config, where, env, secrets);
  if (!oauth && !apiKeys && !tenants.has(ANONYMOUS_TENANT)) {
    throw invalid(
      where,
      `without authentication (auth.oauth or auth.apiKeys) every request acts as the tenant "${ANONYMOUS_TENANT}", which "tenants" does not define`,
    );
  }
  for (const key of apiKeys?.keys ?? []) {
    if (!tenants.has(key.tenant))
      throw invalid(
        where,
        `auth.apiKeys: key "${key.id}" names the unknown tenant "${key.tenant}"`,
      );
  }
  if (oauth?.defaultTenant && !tenants.has(oauth.defaultTenant))
    throw invalid(
      where,
      `auth.oauth.defaultTenant names the unknown tenant "${oauth.defaultTenant}"`,
    );
  return {
    file,
    host,
    port,
    path,
    publicUrl,
    access: {
      ...(gateway.allowedHosts ? { allowedHosts: gateway.allowedHosts } : {}),
      ...(gateway.allowedOrigins ? { allowedOrigins: gateway.allowedOrigins } : {}),
      ...(gateway.insecureNoAuth ? { insecureNoAuth: true } : {}),
    },
    drainTimeoutMs: gateway.drainTimeoutMs ?? 30_000,
    drainGraceMs: gateway.drainGraceMs ?? 3000,
    maxOpenTenants: gateway.maxOpenTenants ?? 32,
    maxBodyBytes: gateway.maxBodyBytes ?? 4 * 1024 * 1024,
    sessionLease: gateway.sessionLease,
    resumableStreams:
      gateway.resumableStreams?.enabled === false
        ? undefined
        : {
            ttlMs: gateway.resumableStreams?.ttlMs ?? 300_000,
            maxEvents: gateway.resumableStreams?.maxEvents ?? 1000,
            leaseMs: gateway.resumableStreams?.leaseMs ?? 5000,
          },
    redisUrl,
    keyPrefix: config.sessions?.keyPrefix ?? "mcpo:",
    sessionTtlMs: config.sessions?.ttlMs,
    telemetry: config.telemetry,
    approvals: config.approvals,
    oauth,
    apiKeys,
    tenants,
    secrets: [...secrets],
  };
}

/** Each tenant with the shared servers, the merged sandbox and quotas, checked now. */
function resolveTenants(
  raw: Record<string, unknown>,
  config: GatewayConfig,
  where: string,
  env: Record<string, string | undefined>,
  secrets: Set<string>,
): Map<string, ResolvedTenant> {
  const topSandbox = objectOr(raw.sandbox);
  const defined = config.tenants ?? { [ANONYMOUS_TENANT]: { mcpServers: {} } };
  const tenants = new Map<string, ResolvedTenant>();
  for (const [name, tenant] of Object.entries(defined)) {
    for (const server of Object.keys(tenant.mcpServers ?? {})) {
      if (server in config.mcpServers)
        throw invalid(
          where,
          `tenants.${name}.mcpServers.${server}: a shared server (top-level mcpServers) has this name`,
        );
    }
    const mcpServers = { ...config.mcpServers, ...(tenant.mcpServers ?? {}) } as McpServersConfig;
    try {
      for (const s of parseMcpServers(mcpServers, { env }).secrets) secrets.add(s);
    } catch (error) {
      throw invalid(where, `tenants.${name}: ${(error as Error).message}`);
    }
    const sandboxInput = { mode: "wasm", ...topSandbox, ...(tenant.sandbox ?? {}) };
    const sandbox = SandboxConfigSchema.safeParse(sandboxInput);
    if (!sandbox.success)
      throw invalid(where, formatIssues(sandbox.error.issues, `tenants.${name}.sandbox`));
    if (sandbox.data.redisUrl)
      throw invalid(where, `tenants.${name}.sandbox.redisUrl: set sessions.redisUrl instead`);
    let features: FeatureSettings;
    try {
      features = layerFeatures([
        { source: "config", values: config.features ?? {} },
        { source: "environment", values: featuresFromEnv(env) },
        { source: "tenant", values: tenant.features ?? {} },
      ]);
      resolveFeatures(features);
    } catch (error) {
      throw invalid(where, `tenants.${name}: ${(error as Error).message}`);
    }
    tenants.set(name, {
      name,
      mcpServers,
      allow: tenant.allow ?? {},
      sandbox: sandboxInput as SandboxConfig,
      quotas: { ...(config.quotas ?? {}), ...(tenant.quotas ?? {}) },
      features,
      context: config.context,
    });
  }
  return tenants;
}

/** "host:port", ":port" or "port"; IPv6 in brackets. */
export function parseListen(value: string, where = "listen"): { host: string; port: number } {
  const match = /^(?:(\[[^\]]+\]|[^:]*):)?(\d{1,5})$/.exec(value);
  const port = match ? Number(match[2]) : Number.NaN;
  if (!match || port > 65_535)
    throw invalid(where, `gateway.listen takes HOST:PORT (e.g. 0.0.0.0:8080); got "${value}"`);
  return { host: (match[1] ?? "").replace(/^\[|\]$/g, "") || "127.0.0.1", port };
}

function urlHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host === "0.0.0.0" ? "localhost" : host;
}

function readJson(file: string): unknown {
  if (!existsSync(file)) throw invalid(file, "no such config file");
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw invalid(file, `not valid JSON: ${(error as Error).message}`);
  }
}

function resolveBeside(configFile: string | undefined, path: string): string {
  if (isAbsolute(path)) return path;
  return resolve(configFile ? dirname(configFile) : process.cwd(), path);
}

function objectOr(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function invalid(where: string, message: string): OptimizerError {
  return new OptimizerError(ErrorCodes.INVALID_CONFIG, `${where}: ${message}.`, {
    details: { file: where },
  });
}
