import type { AuditRecord, AuditSink } from "@mcp-optimizer/core";
import { gatewayMetrics } from "../gateway-metrics.js";
import { WARM_UP_SESSION_PREFIX } from "../tenants/tenant-runtimes.js";
import type { QuotaLimiter } from "./quota-limiter.js";

/**
 * Hears each execution's audit record (already redacted, with its tenant): adds the tokens
 * the model saw to the tenant's day (tokensPerDay) and counts the execution in the gateway's
 * metrics, labelled with the tenant.
 */
export function createUsageAuditSink(
  limiter: QuotaLimiter,
  onError: (error: unknown) => void,
): AuditSink {
  return {
    write(record: AuditRecord): void {
      if (record.type !== "execution") return;
      // A replica's own warm-up run is not the tenant's use.
      if (record.sessionId.startsWith(WARM_UP_SESSION_PREFIX)) return;
      gatewayMetrics.execution(record.tenant, record.outcome, record.tokens.used);
      limiter.recordTokens(record.tenant, record.tokens.used).catch(onError);
    },
  };
}
