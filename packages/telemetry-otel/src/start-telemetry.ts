import { createRequire } from "node:module";
import { ErrorCodes, OptimizerError } from "@mcp-optimizer/core";
import { context, logs, metrics, propagation, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from "@opentelemetry/core";
import { OTLPLogExporter as OTLPLogExporterJson } from "@opentelemetry/exporter-logs-otlp-http";
import { OTLPLogExporter as OTLPLogExporterProto } from "@opentelemetry/exporter-logs-otlp-proto";
import { OTLPMetricExporter as OTLPMetricExporterJson } from "@opentelemetry/exporter-metrics-otlp-http";
import { OTLPMetricExporter as OTLPMetricExporterProto } from "@opentelemetry/exporter-metrics-otlp-proto";
import { OTLPTraceExporter as OTLPTraceExporterJson } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as OTLPTraceExporterProto } from "@opentelemetry/exporter-trace-otlp-proto";
import { detectResources, envDetector, resourceFromAttributes } from "@opentelemetry/resources";
import {
  BatchLogRecordProcessor,
  LoggerProvider,
  type LogRecordProcessor,
} from "@opentelemetry/sdk-logs";
import {
  type IMetricReader,
  MeterProvider,
  PeriodicExportingMetricReader,
  type ViewOptions,
} from "@opentelemetry/sdk-metrics";
import { BatchSpanProcessor, type SpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { createOptimizerMeterViews } from "./optimizer-views.js";
import {
  type OtlpProtocol,
  type OtlpSignal,
  otlpProtocol,
  readOtelEnvironment,
} from "./otel-environment.js";
import { PrometheusEndpoint, type PrometheusEndpointOptions } from "./prometheus-endpoint.js";

export interface OtlpOptions {
  /** Collector base URL; signals go to `<endpoint>/v1/traces`, `/v1/metrics`, `/v1/logs`. Default: OTEL_EXPORTER_OTLP_ENDPOINT and the per-signal variables, read by the exporters. */
  endpoint?: string;
  /** "http/protobuf" or "http/json". Default: OTEL_EXPORTER_OTLP_[SIGNAL_]PROTOCOL, else "http/protobuf". */
  protocol?: OtlpProtocol;
  /** HTTP headers for the collector (an API key, ...). Default: OTEL_EXPORTER_OTLP_[SIGNAL_]HEADERS. */
  headers?: Record<string, string>;
  /** Export spans. Default true. */
  traces?: boolean;
  /** Export metrics. Default true. */
  metrics?: boolean;
  /** Export log records (the OpenTelemetry audit sink's). Default true. */
  logs?: boolean;
  /** How often metrics are pushed, in ms. Default: OTEL_METRIC_EXPORT_INTERVAL, else 60000. */
  metricIntervalMs?: number;
  /** Timeout of one export request, in ms. Default: OTEL_EXPORTER_OTLP_[SIGNAL_]TIMEOUT, else 10000. */
  timeoutMs?: number;
}

export interface TelemetryOptions {
  /** Install the SDK at all; false returns a handle that started nothing (no SDK, no port). Default true, unless OTEL_SDK_DISABLED=true. */
  enabled?: boolean;
  /** The `service.name` resource attribute. Default: OTEL_SERVICE_NAME, else "mcp-optimizer". */
  serviceName?: string;
  /** The `service.version` resource attribute. Default: the installed @mcp-optimizer/core version. */
  serviceVersion?: string;
  /** More resource attributes (`deployment.environment.name`, `service.instance.id`, ...), over OTEL_RESOURCE_ATTRIBUTES. Default none. */
  resourceAttributes?: Record<string, string | number | boolean>;
  /** The Prometheus scrape endpoint, or false for none. Default: port 9464, path /metrics, every interface. */
  prometheus?: PrometheusEndpointOptions | false;
  /** OTLP/HTTP export of traces, metrics and logs. Default: on when OTEL_EXPORTER_OTLP_ENDPOINT (or a per-signal endpoint) is set, else none. */
  otlp?: OtlpOptions;
  /** Install a tracer provider (core records spans when `sandboxConfig.enableTelemetry` is true). Default true. */
  traces?: boolean;
  /** Install a logger provider (for `createOtelLogAuditSink`). Default true. */
  logs?: boolean;
  /** More span processors, e.g. `new SimpleSpanProcessor({ exporter })`. Default none. */
  spanProcessors?: SpanProcessor[];
  /** More metric readers. Default none. */
  metricReaders?: IMetricReader[];
  /** More log record processors. Default none. */
  logRecordProcessors?: LogRecordProcessor[];
  /** More metric views, after `createOptimizerMeterViews()`. Default none. */
  views?: ViewOptions[];
}

/** What `startTelemetry` started; `shutdown()` flushes and stops all of it. */
export interface TelemetryHandle {
  /** Whether an SDK was installed. */
  readonly enabled: boolean;
  /** Why not, when it was not ("OTEL_SDK_DISABLED=true", "enabled: false"). */
  readonly disabledReason?: string;
  /** Where OTLP goes: the option or the environment variables that set it. Undefined: no OTLP. */
  readonly otlpSource?: string | undefined;
  /** The Prometheus scrape URL, when the endpoint listens. */
  readonly prometheusUrl: string | undefined;
  readonly meterProvider: MeterProvider | undefined;
  readonly tracerProvider: TracerProvider | undefined;
  readonly loggerProvider: LoggerProvider | undefined;
  /** The Prometheus endpoint, to scrape in-process. */
  readonly prometheus: PrometheusEndpoint | undefined;
  /** Exports whatever is buffered (spans, metrics, log records). */
  forceFlush(): Promise<void>;
  /** Flushes, stops exporters and the endpoint, and unregisters the global providers. Idempotent. */
  shutdown(): Promise<void>;
}

const disabled = (reason: string): TelemetryHandle => ({
  enabled: false,
  disabledReason: reason,
  prometheusUrl: undefined,
  meterProvider: undefined,
  tracerProvider: undefined,
  loggerProvider: undefined,
  prometheus: undefined,
  forceFlush: async () => {},
  shutdown: async () => {},
});

function coreVersion(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    return (require("@mcp-optimizer/core/package.json") as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/**
 * The resource, weakest first: the defaults, then the environment (OTEL_RESOURCE_ATTRIBUTES,
 * OTEL_SERVICE_NAME through the SDK's envDetector), then what the options say.
 */
function telemetryResource(options: TelemetryOptions) {
  const serviceVersion = options.serviceVersion ?? coreVersion();
  return resourceFromAttributes({
    "service.name": "mcp-optimizer",
    ...(serviceVersion ? { "service.version": serviceVersion } : {}),
  })
    .merge(detectResources({ detectors: [envDetector] }))
    .merge(
      resourceFromAttributes({
        ...(options.serviceName ? { "service.name": options.serviceName } : {}),
        ...(options.serviceVersion ? { "service.version": options.serviceVersion } : {}),
        ...options.resourceAttributes,
      }),
    );
}

function signalUrl(endpoint: string, signal: string): string {
  return `${endpoint.replace(/\/+$/, "")}/v1/${signal}`;
}

/**
 * Installs the OpenTelemetry SDK for an application: a MeterProvider (Prometheus endpoint,
 * optional OTLP push), a TracerProvider and a LoggerProvider, registered as the globals that
 * core's `@opentelemetry/api` calls reach. Call it before creating `MCPOptimizer`: core asks
 * for its meter when it is constructed. Throws INVALID_CONFIG when another SDK is already
 * registered (add `createOptimizerMeterViews()` and `createPrometheusEndpoint().reader` to
 * that one instead).
 */
export async function startTelemetry(options: TelemetryOptions = {}): Promise<TelemetryHandle> {
  if (options.enabled === false) return disabled("enabled: false");
  const environment = readOtelEnvironment();
  if (environment.sdkDisabled) return disabled("OTEL_SDK_DISABLED=true");
  // OTLP from the options, else from the standard variables (the exporters read them).
  const otlp = options.otlp ?? (environment.otlpEndpointSet ? {} : undefined);
  if (otlp?.endpoint !== undefined && !/^https?:\/\//.test(otlp.endpoint)) {
    throw new OptimizerError(
      ErrorCodes.INVALID_CONFIG,
      `otlp.endpoint is an http:// or https:// URL; got "${otlp.endpoint}".`,
    );
  }
  if (otlp && otlp.endpoint === undefined && !environment.otlpEndpointSet) {
    throw new OptimizerError(
      ErrorCodes.INVALID_CONFIG,
      "otlp needs an endpoint: set otlp.endpoint or OTEL_EXPORTER_OTLP_ENDPOINT.",
    );
  }
  const protocols = otlp
    ? {
        TRACES: otlpProtocol("TRACES", otlp.protocol),
        METRICS: otlpProtocol("METRICS", otlp.protocol),
        LOGS: otlpProtocol("LOGS", otlp.protocol),
      }
    : undefined;
  const resource = telemetryResource(options);
  const exporterConfig = (signal: OtlpSignal) => ({
    ...(otlp?.endpoint ? { url: signalUrl(otlp.endpoint, signal.toLowerCase()) } : {}),
    ...(otlp?.timeoutMs !== undefined ? { timeoutMillis: otlp.timeoutMs } : {}),
    ...(otlp?.headers ? { headers: otlp.headers } : {}),
  });
  const json = (signal: OtlpSignal) => protocols?.[signal] === "http/json";

  const prometheus =
    options.prometheus === false ? undefined : new PrometheusEndpoint(options.prometheus);
  const readers: IMetricReader[] = [...(options.metricReaders ?? [])];
  if (prometheus) readers.push(prometheus.reader);
  if (otlp && otlp.metrics !== false) {
    const config = exporterConfig("METRICS");
    readers.push(
      new PeriodicExportingMetricReader({
        exporter: json("METRICS")
          ? new OTLPMetricExporterJson(config)
          : new OTLPMetricExporterProto(config),
        exportIntervalMillis: otlp.metricIntervalMs ?? environment.metricExportIntervalMs ?? 60_000,
        exportTimeoutMillis: otlp.timeoutMs ?? 10_000,
      }),
    );
  }
  const meterProvider = new MeterProvider({
    resource,
    readers,
    views: [...createOptimizerMeterViews(), ...(options.views ?? [])],
  });

  let tracerProvider: TracerProvider | undefined;
  if (options.traces !== false) {
    const spanProcessors: SpanProcessor[] = [...(options.spanProcessors ?? [])];
    if (otlp && otlp.traces !== false) {
      const config = exporterConfig("TRACES");
      spanProcessors.push(
        new BatchSpanProcessor({
          exporter: json("TRACES")
            ? new OTLPTraceExporterJson(config)
            : new OTLPTraceExporterProto(config),
        }),
      );
    }
    tracerProvider = new TracerProvider({ resource, spanProcessors });
  }

  let loggerProvider: LoggerProvider | undefined;
  if (options.logs !== false) {
    const processors: LogRecordProcessor[] = [...(options.logRecordProcessors ?? [])];
    if (otlp && otlp.logs !== false) {
      const config = exporterConfig("LOGS");
      processors.push(
        new BatchLogRecordProcessor({
          exporter: json("LOGS")
            ? new OTLPLogExporterJson(config)
            : new OTLPLogExporterProto(config),
        }),
      );
    }
    loggerProvider = new LoggerProvider({ resource, processors });
  }

  const undo: (() => void)[] = [];
  const stopProviders = () =>
    Promise.allSettled([
      meterProvider.shutdown(),
      tracerProvider?.shutdown(),
      loggerProvider?.shutdown(),
    ]);
  const unregister = () => {
    for (const fn of undo.splice(0).reverse()) fn();
  };
  const alreadyRegistered = async (what: string): Promise<never> => {
    unregister();
    await stopProviders();
    throw new OptimizerError(
      ErrorCodes.INVALID_CONFIG,
      `An OpenTelemetry ${what} is already registered in this process: the application runs its own SDK (or startTelemetry was called twice). Core records through the global API, so nothing needs starting; add createOptimizerMeterViews() and createPrometheusEndpoint().reader to your SDK if you want them.`,
    );
  };

  if (!metrics.setGlobalMeterProvider(meterProvider)) await alreadyRegistered("MeterProvider");
  undo.push(() => metrics.disable());
  if (tracerProvider) {
    if (!trace.setGlobalTracerProvider(tracerProvider)) await alreadyRegistered("TracerProvider");
    undo.push(() => trace.disable());
    // Parent/child spans across awaits need a context manager; keep one the host installed.
    const manager = new AsyncLocalStorageContextManager().enable();
    if (context.setGlobalContextManager(manager)) {
      undo.push(() => {
        context.disable();
        manager.disable();
      });
    } else {
      manager.disable(); // the host's stays in charge; ours would only hold an AsyncLocalStorage
    }
    if (
      propagation.setGlobalPropagator(
        new CompositePropagator({
          propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
        }),
      )
    ) {
      undo.push(() => propagation.disable());
    }
  }
  if (loggerProvider) {
    if (!logs.setGlobalLoggerProvider(loggerProvider)) await alreadyRegistered("LoggerProvider");
    undo.push(() => logs.disable());
  }

  let prometheusUrl: string | undefined;
  if (prometheus) {
    try {
      prometheusUrl = await prometheus.listen();
    } catch (error) {
      unregister();
      await stopProviders();
      throw error;
    }
  }

  let stopped: Promise<void> | undefined;
  const forceFlush = async () => {
    await Promise.allSettled([
      meterProvider.forceFlush(),
      tracerProvider?.forceFlush(),
      loggerProvider?.forceFlush(),
    ]);
  };
  return {
    enabled: true,
    otlpSource: otlp
      ? otlp.endpoint
        ? `otlp.endpoint=${otlp.endpoint}`
        : environment.otlpSource
      : undefined,
    prometheusUrl,
    meterProvider,
    tracerProvider,
    loggerProvider,
    prometheus,
    forceFlush,
    shutdown: () => {
      stopped ??= (async () => {
        await forceFlush();
        await stopProviders();
        await prometheus?.close();
        unregister();
      })();
      return stopped;
    },
  };
}
