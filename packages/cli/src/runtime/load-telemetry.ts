import type { AuditSink } from "@mcp-optimizer/core";
import type { TelemetryConfig } from "../config/schema.js";
import { importOptional } from "./resolve-package.js";

export const TELEMETRY_PACKAGE = "@mcp-optimizer/telemetry-otel";

export interface LoadedTelemetry {
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
}

/** Starts @mcp-optimizer/telemetry-otel when the config has a `telemetry` section. */
export async function loadTelemetry(config: TelemetryConfig | undefined): Promise<LoadedTelemetry> {
  const off: LoadedTelemetry = { audit: [], exporters: [], notes: [], shutdown: async () => {} };
  if (!config || config.enabled === false) return off;
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
  } = config;
  if (typeof mod.startTelemetry === "function") {
    try {
      handle = (await mod.startTelemetry({
        serviceName: serviceName ?? "mcp-optimizer",
        prometheus:
          prometheusPort === undefined
            ? false
            : { port: prometheusPort, host: prometheusHost ?? "127.0.0.1" },
        ...(otlpEndpoint ? { otlp: { endpoint: otlpEndpoint } } : {}),
        ...rest,
      })) as TelemetryHandle;
      const metricsUrl = handle?.prometheusUrl;
      if (metricsUrl) exporters.push(`prometheus ${metricsUrl}`);
      if (config.otlpEndpoint) exporters.push(`otlp ${config.otlpEndpoint}`);
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
