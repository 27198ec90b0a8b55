import {
  type Attributes,
  type Counter,
  type Histogram,
  type Meter,
  metrics,
  type ObservableResult,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";

/**
 * Every instrument core records, through @opentelemetry/api only (a no-op until an
 * application installs an SDK, e.g. with @mcp-optimizer/telemetry-otel). Names follow the
 * OpenTelemetry semantic conventions for MCP and GenAI where they exist; the Prometheus
 * exporter turns them into `mcp_optimizer_executions_total`, `..._duration_seconds`, ...
 */
export const METER_NAME = "@mcp-optimizer/core";

export const Instruments = {
  executions: "mcp_optimizer.executions",
  executionDuration: "mcp_optimizer.execution.duration",
  toolCalls: "mcp_optimizer.tool_calls",
  /** The MCP semantic-convention histogram for client operations (tools/call upstream). */
  mcpClientOperationDuration: "mcp.client.operation.duration",
  tokensUsed: "mcp_optimizer.tokens.used",
  tokensPlainMcp: "mcp_optimizer.tokens.plain_mcp",
  tokensSaved: "mcp_optimizer.tokens.saved",
  costEstimated: "mcp_optimizer.cost.estimated",
  sandboxSessions: "mcp_optimizer.sandbox.sessions",
  sessionStoreDuration: "mcp_optimizer.session_store.operation.duration",
  upstreamReconnects: "mcp_optimizer.upstream.reconnects",
  sandboxFallbacks: "mcp_optimizer.sandbox.fallbacks",
} as const;

/** Attribute keys (semantic conventions first). */
export const Attr = {
  mcpMethodName: "mcp.method.name",
  mcpSessionId: "mcp.session.id",
  toolName: "gen_ai.tool.name",
  operationName: "gen_ai.operation.name",
  errorType: "error.type",
  server: "mcp_optimizer.server",
  mode: "mcp_optimizer.sandbox.mode",
  outcome: "mcp_optimizer.outcome",
  kind: "mcp_optimizer.execution.kind",
  sessionId: "mcp_optimizer.session.id",
  tenant: "mcp_optimizer.tenant",
  executionId: "mcp_optimizer.execution.id",
  storeOperation: "mcp_optimizer.session_store.operation",
  storeKind: "mcp_optimizer.session_store.kind",
  model: "gen_ai.request.model",
  fromMode: "mcp_optimizer.sandbox.from_mode",
} as const;

// Seconds buckets from 1 ms to 60 s: executions are fast, tool calls can be slow.
const SECONDS_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

export interface TelemetryOptions {
  /** Record metrics. Default true. */
  metrics: boolean;
  /** Record spans. Default false. */
  traces: boolean;
  /** Reported as the meter/tracer version. */
  version?: string;
}

/** Core's handle on metrics and traces; every method is cheap when disabled. */
export class Telemetry {
  readonly tracer: Tracer | undefined;
  private readonly counters: Record<string, Counter> = {};
  private readonly histograms: Record<string, Histogram> = {};
  private sandboxSessionsSource: (() => number) | undefined;

  constructor(readonly options: TelemetryOptions) {
    if (options.traces) this.tracer = trace.getTracer(METER_NAME, options.version);
    if (!options.metrics) return;
    const meter: Meter = metrics.getMeter(METER_NAME, options.version);
    const counter = (name: string, description: string, unit?: string) => {
      this.counters[name] = meter.createCounter(name, { description, ...(unit ? { unit } : {}) });
    };
    const histogram = (name: string, description: string) => {
      this.histograms[name] = meter.createHistogram(name, {
        description,
        unit: "s",
        advice: { explicitBucketBoundaries: SECONDS_BUCKETS },
      });
    };
    counter(Instruments.executions, "Executions by sandbox mode and outcome.");
    histogram(Instruments.executionDuration, "Wall-clock time of one execution.");
    counter(Instruments.toolCalls, "Upstream tool calls by server, tool and outcome.");
    histogram(
      Instruments.mcpClientOperationDuration,
      "Duration of MCP client operations (tools/call) against upstream servers.",
    );
    counter(
      Instruments.tokensUsed,
      "Tokens the model saw in code mode (meta-tool definitions, program, result).",
      "{token}",
    );
    counter(
      Instruments.tokensPlainMcp,
      "Tokens the same work would have cost over plain MCP.",
      "{token}",
    );
    counter(Instruments.tokensSaved, "Tokens saved against plain MCP.", "{token}");
    counter(
      Instruments.costEstimated,
      "Estimated model input cost in US dollars, by path (code_mode or plain_mcp).",
      "USD",
    );
    histogram(Instruments.sessionStoreDuration, "Duration of session store operations.");
    counter(Instruments.upstreamReconnects, "Reconnections to upstream MCP servers.");
    counter(Instruments.sandboxFallbacks, "Executions a hybrid sandbox ran on a fallback mode.");
    meter
      .createObservableUpDownCounter(Instruments.sandboxSessions, {
        description: "Sandbox sessions (warm runners) held by the optimizer.",
      })
      .addCallback((result: ObservableResult) => {
        if (this.sandboxSessionsSource) result.observe(this.sandboxSessionsSource());
      });
  }

  count(name: string, value: number, attributes?: Attributes): void {
    if (value !== 0) this.counters[name]?.add(value, attributes);
  }

  seconds(name: string, ms: number, attributes?: Attributes): void {
    this.histograms[name]?.record(ms / 1000, attributes);
  }

  observeSandboxSessions(source: () => number): void {
    this.sandboxSessionsSource = source;
  }

  /** Runs `fn` in a span when traces are on; sets status and error type from the outcome. */
  async span<T>(
    name: string,
    attributes: Attributes,
    fn: (span: Span | undefined) => Promise<T>,
    kind: SpanKind = SpanKind.INTERNAL,
  ): Promise<T> {
    if (!this.tracer) return fn(undefined);
    return this.tracer.startActiveSpan(name, { attributes, kind }, async (span) => {
      try {
        const value = await fn(span);
        span.setStatus({ code: SpanStatusCode.OK });
        return value;
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        span.setAttribute(Attr.errorType, typeof code === "string" ? code : "Error");
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: (error as Error).message?.slice(0, 500),
        });
        throw error;
      } finally {
        span.end();
      }
    });
  }
}

export { SpanKind };
