import type { AuditRecord, AuditSink } from "@mcp-optimizer/core";
import { gatewayMetrics } from "../gateway-metrics.js";
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
      gatewayMetrics.execution(record.tenant, record.outcome, record.tokens.used);
      limiter.recordTokens(record.tenant, record.tokens.used).catch(onError);
    },
  };
}
