import {
  type AuditSink,
  type FeatureChange,
  isLoopbackHost,
  loadSandbox,
  MemorySessionStore,
  parseSandboxConfig,
  resolveHttpAccess,
  type Sandbox,
  type SessionLeaseSettings,
  type SessionStore,
} from "@mcp-optimizer/core";
import { createRedisSessionStore } from "@mcp-optimizer/sessions-redis";
import type { OAuthTokenVerifier } from "@modelcontextprotocol/server";
import { Redis } from "ioredis";
import { createApiKeyVerifier } from "./auth/api-key-verifier.js";
import { createGatewayVerifier } from "./auth/gateway-verifier.js";
import type { GatewayIdentity } from "./auth/identity.js";
import { createJwtVerifier } from "./auth/jwt-verifier.js";
import {
  type ProtectedResourceMetadata,
  protectedResourceMetadata,
} from "./auth/protected-resource-metadata.js";
import { changedBesideFeatures } from "./config/config-changes.js";
import { ANONYMOUS_TENANT, type ResolvedGatewayConfig } from "./config/load-gateway-config.js";
import { type GatewayServer, startGatewayServer } from "./http/gateway-server.js";
import { createMcpEndpoint } from "./http/mcp-endpoint.js";
import { createReadiness } from "./http/readiness.js";
import { createSessionsApi } from "./http/sessions-api.js";
import {
  createMemoryMcpSessionRegistry,
  createRedisMcpSessionRegistry,
} from "./mcp-sessions/mcp-session-registry.js";
import { createMemoryQuotaLimiter, type QuotaLimiter } from "./quotas/quota-limiter.js";
import { createRedisQuotaLimiter } from "./quotas/redis-quota-limiter.js";
import { createUsageAuditSink } from "./quotas/usage-audit-sink.js";
import type { GatewayEventStore } from "./streams/event-store.js";
import { createMemoryEventStore } from "./streams/memory-event-store.js";
import { createRedisEventStore } from "./streams/redis-event-store.js";
import { startGatewayTelemetry } from "./telemetry/gateway-telemetry.js";
import { TenantRuntimes } from "./tenants/tenant-runtimes.js";

export interface GatewayOptions {
  config: ResolvedGatewayConfig;
  /** Variables for `${VAR}` in servers. Default process.env. */
  env?: Record<string, string | undefined>;
  /** How executions of one session take turns. Default: core's (15 s lease, 30 s wait). */
  sessionLease?: SessionLeaseSettings;
  /** Where operational lines go (never a credential). Default: stderr. */
  log?: (line: string) => void;
}

export interface Gateway {
  /** The MCP endpoint's URL as bound (not the public one). */
  url: string;
  /** The public URL clients use and tokens name. */
  publicUrl: string;
  server: GatewayServer;
  tenants: TenantRuntimes;
  limiter: QuotaLimiter;
  sessions: SessionStore;
  /**
   * Applies the tenants' feature flags of a config read again (on SIGHUP) and names what else
   * differs from the running config, which takes a restart. INVALID_CONFIG, changing nothing,
   * when a flag that takes a restart would change.
   */
  reloadFeatures(
    next: ResolvedGatewayConfig,
    actor?: string,
  ): { changes: { tenant: string; changes: FeatureChange[] }[]; restart: string[] };
  /** Stops taking requests (after the drain grace), finishes those in flight until the deadline, closes everything. */
  shutdown(deadlineMs?: number, graceMs?: number): Promise<{ drained: boolean }>;
}

/** How long a quota's in-flight slot holds at most beyond an execution's own bounds. */
const SLOT_MARGIN_MS = 30_000;

/**
 * A gateway replica: the access floor (Host/Origin, OAuth JWTs or API keys), tenants each
 * with their own engine, quotas and MCP sessions in Redis shared by every replica, health
 * and readiness, and a graceful shutdown.
 */
export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const { config } = options;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const redis = config.redisUrl ? connectRedis(config.redisUrl) : undefined;
  const sessions: SessionStore = config.redisUrl
    ? createRedisSessionStore({ url: config.redisUrl, prefix: config.keyPrefix })
    : new MemorySessionStore();
  const lease = options.sessionLease ?? config.sessionLease;
  const longest = Math.max(
    ...[...config.tenants.values()].map((t) => parseSandboxConfig(t.sandbox).maxExecutionTime),
  );
  const slotTtlMs = longest + (lease?.waitMs ?? 30_000) + SLOT_MARGIN_MS;
  const limiter = redis
    ? createRedisQuotaLimiter({ redis, prefix: config.keyPrefix, slotTtlMs })
    : createMemoryQuotaLimiter({ slotTtlMs });
  const sessionTtlMs = config.sessionTtlMs ?? 3_600_000;
  const mcpSessions = redis
    ? createRedisMcpSessionRegistry({ redis, prefix: config.keyPrefix, ttlMs: sessionTtlMs })
    : createMemoryMcpSessionRegistry({ ttlMs: sessionTtlMs });
  const streamLimits = config.resumableStreams;
  const events: GatewayEventStore | undefined = streamLimits
    ? redis
      ? createRedisEventStore({ redis, prefix: config.keyPrefix, ...streamLimits })
      : createMemoryEventStore(streamLimits)
    : undefined;
  const telemetry = await startGatewayTelemetry(config.telemetry, log);
  const usage = createUsageAuditSink(limiter, (error) =>
    log(`mcp-optimizer-gateway: tokens not counted: ${(error as Error).message}`),
  );
  const audit: AuditSink[] = [usage, ...telemetry.audit];
  const tenants = new TenantRuntimes({
    tenants: config.tenants,
    sessions,
    maxOpen: config.maxOpenTenants,
    audit,
    sessionTtlMs,
    ...(lease ? { sessionLease: lease } : {}),
    ...(options.env ? { env: options.env } : {}),
    ...(config.approvals !== undefined ? { approvals: config.approvals } : {}),
  });

  const { verifier, metadata } = authentication(config, (name) => tenants.has(name), log);
  const access = resolveHttpAccess(config.host, {
    ...config.access,
    ...(verifier
      ? {
          auth: {
            verifier,
            ...(metadata ? { resourceMetadataUrl: metadata.url } : {}),
            ...(config.oauth?.requiredScopes
              ? { requiredScopes: config.oauth.requiredScopes }
              : {}),
          },
        }
      : {}),
  });
  const anonymous: GatewayIdentity | undefined = verifier
    ? undefined
    : { tenant: ANONYMOUS_TENANT, principal: "anonymous", via: "anonymous" };
  if (anonymous && !isLoopbackHost(config.host))
    log(
      "mcp-optimizer-gateway: WARNING: no authentication and listening beyond loopback (gateway.insecureNoAuth)",
    );

  // The default tenant's sandbox, loaded once, tells readiness whether programs can run here.
  const probeConfig = parseSandboxConfig(
    (config.tenants.get(ANONYMOUS_TENANT) ?? [...config.tenants.values()][0]!).sandbox,
  );
  let probe: Promise<Sandbox> | undefined;
  const sandbox = () => {
    probe ??= loadSandbox(probeConfig).catch((error) => {
      probe = undefined;
      throw error;
    });
    return probe;
  };

  const mcp = createMcpEndpoint({
    tenants,
    limiter,
    mcpSessions,
    network: { transport: "tcp", protocolName: "http", protocolVersion: "1.1" },
    maxBodyBytes: config.maxBodyBytes,
    ...(events && streamLimits
      ? {
          streams: {
            store: events,
            leaseMs: streamLimits.leaseMs,
            // A stream cut before its response: the client comes back soon, on any replica.
            retryMs: 500,
            onError: (error: unknown) =>
              log(`mcp-optimizer-gateway: stream event not stored: ${(error as Error).message}`),
          },
        }
      : {}),
  });
  let server: GatewayServer | undefined;
  server = await startGatewayServer({
    host: config.host,
    port: config.port,
    path: config.path,
    access,
    anonymous,
    metadata,
    readiness: createReadiness({
      sessions,
      ...(redis ? { pingRedis: () => redis.ping() } : {}),
      sandbox,
      draining: () => server?.draining ?? false,
      warm: () => warm,
    }),
    mcp: (req, res, identity) => mcp.handle(req, res, identity),
    sessions: createSessionsApi({ sessions, tenants }),
    onError: (error) => log(`mcp-optimizer-gateway: ${(error as Error).stack ?? String(error)}`),
  });
  const started = server;
  // Tenants are opened and warmed in the background; readiness waits for them.
  let warm = false;
  const warming = Promise.allSettled(
    [...config.tenants.keys()].slice(0, config.maxOpenTenants).map((name) =>
      tenants.warm(name).catch((error: unknown) => {
        log(`mcp-optimizer-gateway: tenant "${name}" did not warm up: ${(error as Error).message}`);
      }),
    ),
  ).then(() => {
    warm = true;
  });

  let closing: Promise<{ drained: boolean }> | undefined;
  return {
    url: started.url,
    publicUrl: config.publicUrl.href,
    server: started,
    tenants,
    limiter,
    sessions,
    reloadFeatures(next, actor = "sighup") {
      const changes = tenants.reloadFeatures(next.tenants, actor);
      return { changes, restart: changedBesideFeatures(config, next) };
    },
    shutdown(deadlineMs = config.drainTimeoutMs, graceMs = config.drainGraceMs) {
      closing ??= (async () => {
        const drained = await started.drain(deadlineMs, graceMs);
        await warming;
        await mcp.close().catch(() => {});
        await tenants.closeAll();
        await Promise.allSettled([
          sessions.close(),
          limiter.close(),
          events?.close(),
          probe?.then((s) => s.close()),
          telemetry.shutdown(),
        ]);
        await redis?.quit().catch(() => redis.disconnect());
        return { drained };
      })();
      return closing;
    },
  };
}

/** The bearer verifier and the metadata document, from auth.oauth and auth.apiKeys. */
function authentication(
  config: ResolvedGatewayConfig,
  isTenant: (name: string) => boolean,
  log: (line: string) => void,
): { verifier: OAuthTokenVerifier | undefined; metadata: ProtectedResourceMetadata | undefined } {
  const jwt = config.oauth
    ? createJwtVerifier({
        issuer: config.oauth.issuer,
        audience: config.oauth.audience,
        ...(config.oauth.jwksUri ? { jwksUri: config.oauth.jwksUri } : {}),
        ...(config.oauth.algorithms ? { algorithms: config.oauth.algorithms } : {}),
        ...(config.oauth.clockToleranceSeconds !== undefined
          ? { clockToleranceSeconds: config.oauth.clockToleranceSeconds }
          : {}),
        ...(config.oauth.tenantClaim ? { tenantClaim: config.oauth.tenantClaim } : {}),
        ...(config.oauth.principalClaim ? { principalClaim: config.oauth.principalClaim } : {}),
        ...(config.oauth.defaultTenant ? { defaultTenant: config.oauth.defaultTenant } : {}),
        isTenant,
      })
    : undefined;
  const apiKeys = config.apiKeys
    ? createApiKeyVerifier(
        {
          keys: config.apiKeys.keys,
          ...(config.apiKeys.file ? { file: config.apiKeys.file } : {}),
          log,
        },
        isTenant,
      )
    : undefined;
  const verifier =
    jwt || apiKeys
      ? createGatewayVerifier({ ...(jwt ? { jwt } : {}), ...(apiKeys ? { apiKeys } : {}) })
      : undefined;
  const metadata = config.oauth
    ? protectedResourceMetadata({
        publicUrl: config.publicUrl,
        issuer: config.oauth.issuer,
        ...(config.oauth.requiredScopes ? { scopes: config.oauth.requiredScopes } : {}),
      })
    : undefined;
  return { verifier, metadata };
}

function connectRedis(url: string): Redis {
  const redis = new Redis(url, {
    // Fail a command fast while Redis is away (readiness says so) instead of queueing it.
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
  });
  // Errors surface in the commands that fail and in readiness; keep them off the event emitter's throw path.
  redis.on("error", () => {});
  return redis;
}
