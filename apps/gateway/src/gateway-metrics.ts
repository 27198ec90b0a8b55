import { metrics } from "@opentelemetry/api";

/** The gateway's own instruments, labelled with the tenant (a bounded set: the configured ones). */
const meter = metrics.getMeter("@mcp-optimizer/gateway");

const executions = meter.createCounter("mcp_optimizer.gateway.executions", {
  description: "Executions the gateway ran, by tenant and outcome.",
  unit: "{execution}",
});
const tokens = meter.createCounter("mcp_optimizer.gateway.tokens", {
  description: "Tokens the model saw, by tenant (what tokensPerDay counts).",
  unit: "{token}",
});
const refusals = meter.createCounter("mcp_optimizer.gateway.quota.refusals", {
  description: "Requests refused by a tenant's quota.",
  unit: "{request}",
});
const authFailures = meter.createCounter("mcp_optimizer.gateway.auth.failures", {
  description: "Requests refused by authentication (no tenant is known yet).",
  unit: "{request}",
});
const requests = meter.createCounter("mcp_optimizer.gateway.requests", {
  description: "MCP requests served, by tenant.",
  unit: "{request}",
});

export const gatewayMetrics = {
  execution(tenant: string, outcome: "ok" | "error", used: number): void {
    const attrs = { "mcp_optimizer.tenant": tenant, "mcp_optimizer.outcome": outcome };
    executions.add(1, attrs);
    if (used > 0) tokens.add(used, { "mcp_optimizer.tenant": tenant });
  },
  refused(tenant: string, quota: string): void {
    refusals.add(1, { "mcp_optimizer.tenant": tenant, "mcp_optimizer.quota": quota });
  },
  authFailed(status: number): void {
    authFailures.add(1, { "http.response.status_code": status });
  },
  request(tenant: string): void {
    requests.add(1, { "mcp_optimizer.tenant": tenant });
  },
};
