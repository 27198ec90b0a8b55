import type { IMetricReader, ViewOptions } from "@opentelemetry/sdk-metrics";
import { createOptimizerMeterViews } from "./optimizer-views.js";
import { readOtelEnvironment } from "./otel-environment.js";
import { PrometheusEndpoint, type PrometheusEndpointOptions } from "./prometheus-endpoint.js";

export interface OptimizerSdkConfigOptions {
  /** Also serve the optimizer's Prometheus endpoint, as one more reader of the host's SDK. Default false. */
  prometheus?: PrometheusEndpointOptions | false;
}

/** What to add to an application's own SDK (`new NodeSDK({ ... })`) for the optimizer. */
export interface OptimizerSdkConfig {
  /** False when OTEL_SDK_DISABLED=true: the host's SDK installs nothing, so these are empty. */
  readonly enabled: boolean;
  /** Views pinning the optimizer's histogram buckets (seconds): spread into NodeSDK's `views`. */
  readonly views: ViewOptions[];
  /** Readers to spread into NodeSDK's `metricReaders` (the Prometheus endpoint's, when asked). */
  readonly metricReaders: IMetricReader[];
  /** The Prometheus endpoint, when asked: `await listen()` it after `sdk.start()`, `close()` it on shutdown. */
  readonly prometheus: PrometheusEndpoint | undefined;
}

/**
 * The path most OpenTelemetry users have: the application already starts `NodeSDK` with its
 * own exporters and resource (and the standard OTEL_* variables, which NodeSDK reads). Core
 * records through @opentelemetry/api, so the optimizer's spans, metrics and log records flow
 * through that SDK with nothing started here and no second provider; this adds what the SDK
 * cannot guess: bucket boundaries in seconds for the optimizer's histograms and, if wanted,
 * the optimizer's Prometheus endpoint as one more reader. Spans need
 * `sandboxConfig.enableTelemetry: true` on the optimizer.
 *
 * ```ts
 * const optimizer = createOptimizerSdkConfig();
 * const sdk = new NodeSDK({ traceExporter, metricReaders: [myReader, ...optimizer.metricReaders], views: optimizer.views });
 * sdk.start();
 * ```
 */
export function createOptimizerSdkConfig(
  options: OptimizerSdkConfigOptions = {},
): OptimizerSdkConfig {
  if (readOtelEnvironment().sdkDisabled) {
    return { enabled: false, views: [], metricReaders: [], prometheus: undefined };
  }
  const prometheus = options.prometheus ? new PrometheusEndpoint(options.prometheus) : undefined;
  return {
    enabled: true,
    views: createOptimizerMeterViews(),
    metricReaders: prometheus ? [prometheus.reader] : [],
    prometheus,
  };
}
