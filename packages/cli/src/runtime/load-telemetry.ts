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
  metricsUrl?: string;
  prometheus?: { url?: string };
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
  const { enabled: _enabled, auditFile, ...options } = config;
  if (typeof mod.startTelemetry === "function") {
    try {
      handle = (await mod.startTelemetry({
        serviceName: "mcp-optimizer",
        ...options,
      })) as TelemetryHandle;
      const metricsUrl = handle?.metricsUrl ?? handle?.prometheus?.url;
      if (metricsUrl) exporters.push(`prometheus ${metricsUrl}`);
      if (config.otlpEndpoint) exporters.push(`otlp ${config.otlpEndpoint}`);
    } catch (error) {
      notes.push(`telemetry failed to start: ${(error as Error).message}`);
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
