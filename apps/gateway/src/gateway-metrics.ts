import { type MeterProvider, metrics } from "@opentelemetry/api";

/** The gateway's own instruments, labelled with the tenant (a bounded set: the configured ones). */
function createInstruments(provider: MeterProvider) {
  const meter = provider.getMeter("@mcp-optimizer/gateway");
  return {
    executions: meter.createCounter("mcp_optimizer.gateway.executions", {
      description: "Executions the gateway ran, by tenant and outcome.",
      unit: "{execution}",
    }),
    tokens: meter.createCounter("mcp_optimizer.gateway.tokens", {
      description: "Tokens the model saw, by tenant (what tokensPerDay counts).",
      unit: "{token}",
    }),
    refusals: meter.createCounter("mcp_optimizer.gateway.quota.refusals", {
      description: "Requests refused by a tenant's quota.",
      unit: "{request}",
    }),
    authFailures: meter.createCounter("mcp_optimizer.gateway.auth.failures", {
      description: "Requests refused by authentication (no tenant is known yet).",
      unit: "{request}",
    }),
    requests: meter.createCounter("mcp_optimizer.gateway.requests", {
      description: "MCP requests served, by tenant.",
      unit: "{request}",
    }),
  };
}

// The API has no proxy for metrics: instruments made before the SDK is installed stay no-ops,
// so they are made (again) for whichever provider is installed when they are used.
let current:
  | { provider: MeterProvider; instruments: ReturnType<typeof createInstruments> }
  | undefined;
function instruments() {
  const provider = metrics.getMeterProvider();
  if (current?.provider !== provider)
    current = { provider, instruments: createInstruments(provider) };
  return current.instruments;
}

export const gatewayMetrics = {
  execution(tenant: string, outcome: "ok" | "error", used: number): void {
    const { executions, tokens } = instruments();
    executions.add(1, { "mcp_optimizer.tenant": tenant, "mcp_optimizer.outcome": outcome });
    if (used > 0) tokens.add(used, { "mcp_optimizer.tenant": tenant });
  },
  refused(tenant: string, quota: string): void {
    instruments().refusals.add(1, { "mcp_optimizer.tenant": tenant, "mcp_optimizer.quota": quota });
  },
  authFailed(status: number): void {
    instruments().authFailures.add(1, { "http.response.status_code": status });
  },
  request(tenant: string): void {
    instruments().requests.add(1, { "mcp_optimizer.tenant": tenant });
  },
};
