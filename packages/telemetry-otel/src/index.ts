// The price table behind the cost estimates lives in core; override it with
// `new MCPOptimizer({ pricing: { model, prices } })`.
export {
  createPricing,
  DEFAULT_PRICES_PER_MTOK,
  DEFAULT_PRICING_MODEL,
  type Pricing,
  type PricingOptions,
} from "@mcp-optimizer/core";
export {
  type AuditRedactionOptions,
  createAuditRedaction,
  DEFAULT_REDACTED_ARGUMENT_KEYS,
} from "./audit-redaction.js";
export {
  createFileAuditSink,
  FileAuditSink,
  type FileAuditSinkOptions,
  readAuditFile,
} from "./file-audit-sink.js";
export {
  createOptimizerSdkConfig,
  type OptimizerSdkConfig,
  type OptimizerSdkConfigOptions,
} from "./optimizer-sdk-config.js";
export { createOptimizerMeterViews } from "./optimizer-views.js";
export {
  type OtelEnvironment,
  type OtlpProtocol,
  type OtlpSignal,
  otlpProtocol,
  readOtelEnvironment,
} from "./otel-environment.js";
export {
  AUDIT_EVENT_NAMES,
  createOtelLogAuditSink,
  OtelLogAuditSink,
  type OtelLogAuditSinkOptions,
} from "./otel-log-audit-sink.js";
export {
  createPrometheusEndpoint,
  PrometheusEndpoint,
  type PrometheusEndpointOptions,
} from "./prometheus-endpoint.js";
export { prometheusUnitSuffix, withPrometheusUnits } from "./prometheus-names.js";
export {
  type OtlpOptions,
  startTelemetry,
  type TelemetryHandle,
  type TelemetryOptions,
} from "./start-telemetry.js";
