export { createApiKeyVerifier, generateApiKey, isApiKey } from "./auth/api-key-verifier.js";
export { createGatewayVerifier } from "./auth/gateway-verifier.js";
export { type GatewayIdentity, identityOf } from "./auth/identity.js";
export {
  createJwtVerifier,
  DEFAULT_JWT_ALGORITHMS,
  type JwtVerifierOptions,
} from "./auth/jwt-verifier.js";
export { protectedResourceMetadata } from "./auth/protected-resource-metadata.js";
export {
  type ApiKeyEntry,
  type GatewayConfig,
  GatewayConfigSchema,
  type Quotas,
  type TenantConfig,
} from "./config/gateway-config-schema.js";
export {
  ANONYMOUS_TENANT,
  GatewayEnv,
  loadGatewayConfig,
  type ResolvedGatewayConfig,
  type ResolvedTenant,
  resolveGatewayConfig,
} from "./config/load-gateway-config.js";
export { createGateway, type Gateway, type GatewayOptions } from "./create-gateway.js";
export { createMemoryQuotaLimiter, type QuotaLimiter } from "./quotas/quota-limiter.js";
export { createRedisQuotaLimiter } from "./quotas/redis-quota-limiter.js";
export {
  type EventStoreLimits,
  formatEventId,
  type GatewayEventStore,
  parseEventId,
  type StoredEvent,
} from "./streams/event-store.js";
export { createMemoryEventStore } from "./streams/memory-event-store.js";
export { createRedisEventStore } from "./streams/redis-event-store.js";
export { createSessionScope } from "./tenants/session-scope.js";
