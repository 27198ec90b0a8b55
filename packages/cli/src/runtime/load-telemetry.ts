import type { AuditSink } from "@mcp-optimizer/core";
import type { TelemetryConfig } from "../config/schema.js";
import { importOptional } from "./resolve-package.js";

export const TELEMETRY_PACKAGE = "@mcp-optimizer/telemetry-otel";

export interface LoadedTelemetry {
  /** Whether anything runs: an SDK started, or an audit sink. */
  enabled: boolean;
  /** Audit sinks to hand to the optimizer. */
  audit: AuditSink[];
  /** What runs, for capabilities: e.g. "prometheus http://127.0.0.1:9464/metrics". */
  exporters: string[];
  /** Why telemetry is off or degraded. */
  notes: string[];
  shutdown(): Promise<void>;
}

interface TelemetryModule {
  startTelemetry?(options: Record<string, unknown>): unknown;
  createFileAuditSink?(options: Record<string, unknown>): AuditSink;
}

interface TelemetryHandle {
  shutdown?(): Promise<void>;
  prometheusUrl?: string | undefined;
  enabled?: boolean;
  disabledReason?: string;
  otlpSource?: string | undefined;
}

/** OTLP endpoints set the standard way turn telemetry on, as they would for any OTel SDK. */
const OTLP_ENDPOINT_VARS = [
  "OTEL_EXPORTER_OTLP_ENDPOINT",
  "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
  "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
  "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
];

/**
 * Starts @mcp-optimizer/telemetry-otel when the config has a `telemetry` section or an OTLP
 * endpoint is set in the environment (OTEL_EXPORTER_OTLP_ENDPOINT, ...); the other OTEL_*
 * variables (service name, resource attributes, protocol, headers) are read by the package,
 * and OTEL_SDK_DISABLED=true turns it off, with a note.
 */
export async function loadTelemetry(
  config: TelemetryConfig | undefined,
  env: Record<string, string | undefined> = process.env,
): Promise<LoadedTelemetry> {
  const off: LoadedTelemetry = {
    enabled: false,
    audit: [],
    exporters: [],
    notes: [],
    shutdown: async () => {},
  };
  if (config?.enabled === false) return off;
  const fromEnv = OTLP_ENDPOINT_VARS.some((name) => (env[name] ?? "").trim() !== "");
  if (!config && !fromEnv) return off;
  const loaded = await importOptional<TelemetryModule>(TELEMETRY_PACKAGE);
  if (!loaded.module) return { ...off, notes: [`telemetry is off: ${loaded.error}`] };
  const mod = loaded.module;
  const notes: string[] = [];
  const exporters: string[] = [];
  const audit: AuditSink[] = [];
  let handle: TelemetryHandle | undefined;
  const {
    enabled: _enabled,
    auditFile,
    prometheusPort,
    prometheusHost,
    otlpEndpoint,
    serviceName,
    ...rest
  } = config ?? {};
  if (typeof mod.startTelemetry === "function") {
    try {
      handle = (await mod.startTelemetry({
        // Unset, OTEL_SERVICE_NAME decides, then "mcp-optimizer".
        ...(serviceName ? { serviceName } : {}),
        prometheus:
          prometheusPort === undefined
            ? false
            : { port: prometheusPort, host: prometheusHost ?? "127.0.0.1" },
        ...(otlpEndpoint ? { otlp: { endpoint: otlpEndpoint } } : {}),
        ...rest,
      })) as TelemetryHandle;
      const metricsUrl = handle?.prometheusUrl;
      if (metricsUrl) exporters.push(`prometheus ${metricsUrl}`);
      if (handle?.otlpSource) exporters.push(`otlp ${handle.otlpSource}`);
      if (handle?.enabled === false && handle.disabledReason)
        notes.push(`telemetry is off: ${handle.disabledReason}`);
    } catch (error) {
      notes.push(`telemetry failed to start: ${inConfigTerms(error)}`);
    }
  } else notes.push(`${TELEMETRY_PACKAGE} has no startTelemetry()`);
  if (auditFile) {
    if (typeof mod.createFileAuditSink === "function") {
      try {
        audit.push(mod.createFileAuditSink({ path: auditFile }));
        exporters.push(`audit ${auditFile}`);
      } catch (error) {
        notes.push(`audit file not opened: ${(error as Error).message}`);
      }
    } else notes.push(`${TELEMETRY_PACKAGE} has no createFileAuditSink()`);
  }
  return {
    enabled: handle?.enabled !== false || audit.length > 0,
    audit,
    exporters,
    notes,
    async shutdown() {
      await Promise.allSettled([
        handle?.shutdown?.(),
        ...audit.map((a) => (a as { close?: () => Promise<void> }).close?.()),
      ]);
    },
  };
}

/** The library's message, with its option names replaced by the config file's. */
function inConfigTerms(error: unknown): string {
  const details = (error as { details?: Record<string, unknown> }).details;
  if (details?.setting === "prometheus.port") {
    return `the Prometheus endpoint cannot listen on ${String(details.host)}:${String(details.port)} (${String(details.reason)}): pick another telemetry.prometheusPort (0 takes a free one), or stop what holds the port`;
  }
  return (error as Error).message;
}
