import { ErrorCodes, OptimizerError } from "@mcp-optimizer/core";

/** The signals OTLP exports, as the environment variables spell them. */
export type OtlpSignal = "TRACES" | "METRICS" | "LOGS";

/** OTLP over HTTP with a protobuf or JSON body (gRPC is NodeSDK's; see docs/telemetry.md). */
export type OtlpProtocol = "http/protobuf" | "http/json";

const PROTOCOLS: readonly string[] = ["http/protobuf", "http/json"];

/** The standard OpenTelemetry environment variables this package reads itself. */
export interface OtelEnvironment {
  /** OTEL_SDK_DISABLED=true: install nothing. */
  sdkDisabled: boolean;
  /** An OTLP endpoint is set (OTEL_EXPORTER_OTLP_ENDPOINT or a per-signal one). */
  otlpEndpointSet: boolean;
  /** The variables that set it, for messages ("OTEL_EXPORTER_OTLP_ENDPOINT=http://..."). */
  otlpSource: string | undefined;
  /** OTEL_METRIC_EXPORT_INTERVAL in ms, when set. */
  metricExportIntervalMs: number | undefined;
}

/**
 * Reads the OpenTelemetry environment variables the SDK parts do not read themselves. The
 * OTLP exporters read their own (endpoint, per-signal endpoints, headers, timeout,
 * compression, certificates); the resource comes from the SDK's `envDetector`
 * (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES).
 */
export function readOtelEnvironment(
  env: Record<string, string | undefined> = process.env,
): OtelEnvironment {
  const endpointVars = [
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
  ].filter((name) => (env[name] ?? "").trim() !== "");
  const interval = Number.parseInt(env.OTEL_METRIC_EXPORT_INTERVAL ?? "", 10);
  return {
    sdkDisabled: (env.OTEL_SDK_DISABLED ?? "").trim().toLowerCase() === "true",
    otlpEndpointSet: endpointVars.length > 0,
    otlpSource:
      endpointVars.length > 0
        ? endpointVars.map((name) => `${name}=${env[name]!.trim()}`).join(", ")
        : undefined,
    metricExportIntervalMs: Number.isFinite(interval) && interval > 0 ? interval : undefined,
  };
}

/**
 * The OTLP protocol of one signal: the option, else OTEL_EXPORTER_OTLP_<SIGNAL>_PROTOCOL, else
 * OTEL_EXPORTER_OTLP_PROTOCOL, else "http/protobuf" (the specification's default). "grpc" and
 * unknown values are INVALID_CONFIG, never ignored.
 */
export function otlpProtocol(
  signal: OtlpSignal,
  option: string | undefined,
  env: Record<string, string | undefined> = process.env,
): OtlpProtocol {
  const specific = `OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`;
  const [value, from] =
    option !== undefined
      ? [option, "otlp.protocol"]
      : env[specific]?.trim()
        ? [env[specific]!.trim(), specific]
        : env.OTEL_EXPORTER_OTLP_PROTOCOL?.trim()
          ? [env.OTEL_EXPORTER_OTLP_PROTOCOL.trim(), "OTEL_EXPORTER_OTLP_PROTOCOL"]
          : ["http/protobuf", "default"];
  if (PROTOCOLS.includes(value)) return value as OtlpProtocol;
  const hint =
    value === "grpc"
      ? " This package exports over HTTP only (no gRPC client in its install); use http/protobuf, or start the application's own NodeSDK, which speaks gRPC, and add the optimizer to it (docs/telemetry.md)."
      : "";
  throw new OptimizerError(
    ErrorCodes.INVALID_CONFIG,
    `${from} is "${value}"; the OTLP protocols here are http/protobuf and http/json.${hint}`,
    { details: { setting: from, value } },
  );
}
