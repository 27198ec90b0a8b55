import { CliConfigSchema } from "@mcp-optimizer/cli";
import { McpServersSchema } from "@mcp-optimizer/core";
import * as z from "zod";

/** Tenant names: short, lower case, usable in Redis keys, session ids and metric labels. */
export const TENANT_NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;

/** Limits of one tenant, enforced across every replica (Redis). Absent: no limit. */
export const QuotasSchema = z.strictObject({
  /** Executions started in any 60 s window. */
  executionsPerMinute: z.number().int().positive().optional(),
  /** Executions running at once. */
  executionsInFlight: z.number().int().positive().optional(),
  /** Tool calls one execution may make. */
  toolCallsPerExecution: z.number().int().positive().optional(),
  /** Tokens (as the model sees them) per UTC day. */
  tokensPerDay: z.number().int().positive().optional(),
});

const AllowlistSchema = z.strictObject({
  servers: z.array(z.string().min(1)).optional(),
  tools: z.array(z.string().min(1)).optional(),
  deny: z.array(z.string().min(1)).optional(),
});

/** One tenant: its own upstream servers (with its own credentials), allowlist, sandbox and quotas. */
export const TenantSchema = z.strictObject({
  /** The tenant's servers, added to the top-level `mcpServers` every tenant shares. Default: none. */
  mcpServers: McpServersSchema.default({}),
  /** What the tenant's sessions may call. Default: everything of its servers. */
  allow: AllowlistSchema.optional(),
  /** Sandbox fields over the top-level `sandbox` (e.g. `{ "mode": "docker" }`), checked once merged. Default: the top level's. */
  sandbox: z.record(z.string(), z.unknown()).optional(),
  /** Quotas over the top-level `quotas`. Default: the top level's. */
  quotas: QuotasSchema.optional(),
  /** Feature flags of this tenant, over the top-level `features` and MCPO_FEATURE_* (docs/features.md). Default: those. */
  features: z.record(z.string(), z.boolean()).optional(),
});

/** The gateway's own listener. */
export const GatewaySectionSchema = z.strictObject({
  /** HOST:PORT to listen on. Default "127.0.0.1:8080"; env MCPO_GATEWAY_LISTEN. */
  listen: z.string().min(1).optional(),
  /** The MCP endpoint's public URL: the OAuth resource identifier tokens must name in `aud`. Default: http://<listen><path>; env MCPO_GATEWAY_PUBLIC_URL. */
  publicUrl: z.url({ protocol: /^https?$/ }).optional(),
  /** The MCP endpoint's path. Default "/mcp". */
  path: z
    .string()
    .regex(/^\/[\w\-./]*$/)
    .optional(),
  /** `Host` names clients use (DNS-rebinding protection). Default: loopback names on loopback, the bound address elsewhere; required on 0.0.0.0. */
  allowedHosts: z.array(z.string().min(1)).optional(),
  /** Browser origins (host names) allowed. Default: loopback on loopback, none elsewhere. */
  allowedOrigins: z.array(z.string().min(1)).optional(),
  /** Listen beyond loopback without any authentication. Default false. */
  insecureNoAuth: z.boolean().optional(),
  /** On SIGTERM, how long in-flight requests may take before the replica exits anyway, in ms. Default 30000. */
  drainTimeoutMs: z.number().int().positive().optional(),
  /** On SIGTERM, how long the replica goes on taking requests while /readyz already says 503, so that the load balancer stops sending before the port closes, in ms. Default 3000 (HAProxy here: 2 checks 1 s apart). */
  drainGraceMs: z.number().int().min(0).optional(),
  /** Tenants kept open (upstreams connected, sandbox loaded) per replica; the least recently used idle one is closed. Default 32. */
  maxOpenTenants: z.number().int().positive().optional(),
  /** Largest request body in bytes. Default 4 MiB. */
  maxBodyBytes: z.number().int().positive().optional(),
  /** Resumable SSE streams for 2025-era sessions (ADR 0027): events kept in Redis (memory without it), resumed with `Last-Event-ID` on any replica. */
  resumableStreams: z
    .strictObject({
      /** Default true; false: every response is one JSON body and GET answers 405. */
      enabled: z.boolean().optional(),
      /** How long a stream's events are kept after its last one, in ms. Default 300000 (5 min). */
      ttlMs: z.number().int().min(100).optional(),
      /** Events kept per stream, the oldest dropped. Default 1000. */
      maxEvents: z.number().int().positive().optional(),
      /** How long a replica's lease on a stream it runs holds unless renewed, in ms: a resumed stream whose replica died is answered GATEWAY_REPLICA_LOST after this. Default 5000. */
      leaseMs: z.number().int().min(300).optional(),
    })
    .optional(),
  /** How executions of one session take turns across replicas (ADR 0017). Default: 15 s lease, 30 s wait. */
  sessionLease: z
    .strictObject({
      /** How long a replica holds a session's turn unless renewed, in ms: a replica that dies frees it after this. */
      ttlMs: z.number().int().min(100).optional(),
      /** How long an execution waits for its turn before SESSION_BUSY, in ms. */
      waitMs: z.number().int().min(0).optional(),
    })
    .optional(),
});

/** Bearer JWTs from an OAuth 2.1 / OpenID Connect authorization server. */
export const OAuthSchema = z.strictObject({
  /** The issuer (`iss`), exactly as the authorization server names itself. Required. */
  issuer: z.url(),
  /** Where its signing keys are. Default: `jwks_uri` of the issuer's discovery document. */
  jwksUri: z.url().optional(),
  /** The `aud` tokens must carry. Default: gateway.publicUrl (RFC 8707 resource indicator). */
  audience: z.string().min(1).optional(),
  /** Signature algorithms accepted. Default ["RS256", "PS256", "ES256", "EdDSA"]; never "none". */
  algorithms: z
    .array(
      z.enum([
        "RS256",
        "RS384",
        "RS512",
        "PS256",
        "PS384",
        "PS512",
        "ES256",
        "ES384",
        "ES512",
        "EdDSA",
      ]),
    )
    .min(1)
    .optional(),
  /** Clock skew allowed on `exp`, `nbf` and `iat`, in seconds. Default 30. */
  clockToleranceSeconds: z.number().int().min(0).max(300).optional(),
  /** The claim naming the tenant. Default "tenant". */
  tenantClaim: z.string().min(1).optional(),
  /** The claim naming the principal (the user or client). Default "sub". */
  principalClaim: z.string().min(1).optional(),
  /** Tenant of tokens without the tenant claim. Default: such tokens are refused. */
  defaultTenant: z.string().regex(TENANT_NAME).optional(),
  /** Scopes every token must carry (else 403 insufficient_scope). Default none. */
  requiredScopes: z.array(z.string().min(1)).optional(),
});

/** A static API key, stored as the SHA-256 of the whole key. */
export const ApiKeyEntrySchema = z.strictObject({
  /** The key's id (its second part: mcpo_<id>_<secret>). */
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/),
  tenant: z.string().regex(TENANT_NAME),
  /** Who uses it, for sessions and the audit trail. Default: the id. */
  principal: z.string().min(1).optional(),
  /** Hex SHA-256 of the key. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

export const ApiKeysSchema = z.strictObject({
  /** A JSON file `{ "keys": [...] }`, re-read when it changes (rotation without restart). */
  file: z.string().min(1).optional(),
  /** Keys in the config itself (changed by a restart). */
  keys: z.array(ApiKeyEntrySchema).optional(),
});

export const AuthSchema = z.strictObject({
  oauth: OAuthSchema.optional(),
  apiKeys: ApiKeysSchema.optional(),
});

/** The CLI's config file plus gateway, auth, tenants and quotas. */
export const GatewayConfigSchema = CliConfigSchema.extend({
  gateway: GatewaySectionSchema.optional(),
  auth: AuthSchema.optional(),
  /** Tenants by name. Default: one tenant, "default", with the top-level servers. */
  tenants: z.record(z.string().regex(TENANT_NAME), TenantSchema).optional(),
  /** Quotas of every tenant that sets none of its own. Default: none. */
  quotas: QuotasSchema.optional(),
});

export type GatewayConfig = z.output<typeof GatewayConfigSchema>;
export type TenantConfig = z.output<typeof TenantSchema>;
export type Quotas = z.output<typeof QuotasSchema>;
export type OAuthConfig = z.output<typeof OAuthSchema>;
export type ApiKeyEntry = z.output<typeof ApiKeyEntrySchema>;
