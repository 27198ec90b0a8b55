import type { AuditSink } from "@mcp-optimizer/core";
import { createFileAuditSink, startTelemetry } from "@mcp-optimizer/telemetry-otel";
import type { GatewayConfig } from "../config/gateway-config-schema.js";

export interface GatewayTelemetry {
  /** Audit sinks the config asked for (telemetry.auditFile). */
  audit: AuditSink[];
  shutdown(): Promise<void>;
}

/**
 * The config's `telemetry` section, as the CLI reads it: a Prometheus endpoint, OTLP export
 * (also when OTEL_EXPORTER_OTLP_ENDPOINT is set), an audit file. Absent: nothing starts.
 */
export async function startGatewayTelemetry(
  config: GatewayConfig["telemetry"],
  log: (line: string) => void,
): Promise<GatewayTelemetry> {
  const fromEnv = (process.env.OTEL_EXPORTER_OTLP_ENDPOINT ?? "").trim() !== "";
  if (config?.enabled === false || (!config && !fromEnv)) {
    return { audit: [], shutdown: async () => {} };
  }
  const {
    enabled: _enabled,
    auditFile,
    prometheusPort,
    prometheusHost,
    otlpEndpoint,
    serviceName,
    ...rest
  } = config ?? {};
  const handle = await startTelemetry({
    serviceName: serviceName ?? "mcp-optimizer-gateway",
    prometheus:
      prometheusPort === undefined
        ? false
        : { port: prometheusPort, host: prometheusHost ?? "127.0.0.1" },
    ...(otlpEndpoint ? { otlp: { endpoint: otlpEndpoint } } : {}),
    ...rest,
  });
  if (handle.prometheusUrl) log(`mcp-optimizer-gateway: metrics at ${handle.prometheusUrl}`);
  const audit = auditFile ? [createFileAuditSink({ path: auditFile })] : [];
  return {
    audit,
    async shutdown() {
      await Promise.allSettled([handle.shutdown(), ...audit.map((a) => a.close?.())]);
    },
  };
}
