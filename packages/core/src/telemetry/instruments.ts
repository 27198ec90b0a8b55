import {
  type Attributes,
  type Context,
  type Counter,
  context,
  type Histogram,
  type Meter,
  type MeterProvider,
  metrics,
  type ObservableResult,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import type { SandboxPoolStats } from "../contracts/sandbox.js";
import type { SessionStoreStats } from "../contracts/session-store.js";

/**
 * Every instrument core records, through @opentelemetry/api only (a no-op until an
 * application installs an SDK, e.g. with @mcp-optimizer/telemetry-otel). Names follow the
 * OpenTelemetry semantic conventions for MCP and GenAI where they exist and carry no unit
 * (the unit is metadata); a Prometheus endpoint adds the unit and `_total`:
 * `mcp_optimizer_executions_total`, `mcp_optimizer_execution_duration_seconds`, ...
 * docs/telemetry.md lists them all.
 */
export const METER_NAME = "@mcp-optimizer/core";

export const Instruments = {
  executions: "mcp_optimizer.executions",
  executionDuration: "mcp_optimizer.execution.duration",
  toolCalls: "mcp_optimizer.tool_calls",
  /** The MCP semantic-convention histogram for client operations (tools/call upstream). */
  mcpClientOperationDuration: "mcp.client.operation.duration",
  /** The MCP semantic-convention histogram for requests the model-facing server answers. */
  mcpServerOperationDuration: "mcp.server.operation.duration",
  /** The MCP semantic-convention histogram for sessions of the model-facing server. */
  mcpServerSessionDuration: "mcp.server.session.duration",
  tokensUsed: "mcp_optimizer.tokens.used",
  tokensPlainMcp: "mcp_optimizer.tokens.plain_mcp",
  tokensSaved: "mcp_optimizer.tokens.saved",
  costEstimated: "mcp_optimizer.cost.estimated",
  sandboxSessions: "mcp_optimizer.sandbox.sessions",
  /** Runners of the sandbox's warm pool by state (idle, active); from `Sandbox.poolStats()`. */
  sandboxRunners: "mcp_optimizer.sandbox.runners",
  sessionStoreDuration: "mcp_optimizer.session_store.operation.duration",
  upstreamReconnects: "mcp_optimizer.upstream.reconnects",
  sandboxFallbacks: "mcp_optimizer.sandbox.fallbacks",
  /** Memoised read-only calls answered from the cache, by server. */
  toolCacheHits: "mcp_optimizer.tool_cache.hits",
  /** Memoisable calls the cache could not answer (absent, expired, invalidated or the cache failed), by server. */
  toolCacheMisses: "mcp_optimizer.tool_cache.misses",
  /** Cache drops caused by a call to a tool that is not read-only, by server. */
  toolCacheInvalidations: "mcp_optimizer.tool_cache.invalidations",
  /** Bytes the session store holds: sessions, and entries by kind of scope (from `SessionStore.stats()`). */
  storeBytes: "mcp_optimizer.store.size",
  /** Items the session store holds: sessions, and entries by kind of scope. */
  storeItems: "mcp_optimizer.store.items",
  /** What the session store removed: past the TTL (expired) or over capacity (LRU). */
  storeEvictions: "mcp_optimizer.store.evictions",
} as const;

/** Attribute keys (semantic conventions first). */
export const Attr = {
  mcpMethodName: "mcp.method.name",
  mcpSessionId: "mcp.session.id",
  mcpProtocolVersion: "mcp.protocol.version",
  mcpResourceUri: "mcp.resource.uri",
  rpcResponseStatusCode: "rpc.response.status_code",
  networkTransport: "network.transport",
  networkProtocolName: "network.protocol.name",
  networkProtocolVersion: "network.protocol.version",
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
  /** Which path a cost estimate is for: "code_mode" or "plain_mcp". */
  costPath: "mcp_optimizer.cost.path",
  /** A pool runner's state: "idle" (warm, waiting) or "active" (serving a session). */
  runnerState: "mcp_optimizer.sandbox.runner.state",
  /** What a store figure counts: "sessions" or "entries". */
  storeWhat: "mcp_optimizer.store.what",
  /** The kind of an entry scope: "ctx" (context), "handles", "privacy", ... */
  storeScope: "mcp_optimizer.store.scope",
  /** Why the store removed something: "expired" or "capacity". */
  evictionReason: "mcp_optimizer.store.eviction.reason",
} as const;

/** Histogram buckets in seconds, 1 ms to 60 s: executions are fast, tool calls can be slow. */
export const DURATION_BUCKETS_SECONDS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

/** Buckets of `mcp.server.session.duration` in seconds, 1 s to 8 h: sessions are conversations. */
export const SESSION_DURATION_BUCKETS_SECONDS: readonly number[] = [
  1, 5, 10, 30, 60, 300, 900, 1800, 3600, 7200, 14_400, 28_800,
];

export interface TelemetryOptions {
  /** Record metrics. Default true. */
  metrics: boolean;
  /** Record spans. Default false. */
  traces: boolean;
  /** Reported as the meter/tracer version. */
  version?: string;
  /** Scrubs secrets from text a span records (an error's message). Default: none. */
  redact?: (text: string) => string;
}

/** Core's handle on metrics and traces; every method is cheap when disabled. */
export class Telemetry {
  readonly tracer: Tracer | undefined;
  private readonly counters: Record<string, Counter> = {};
  private readonly histograms: Record<string, Histogram> = {};
  private sandboxSessionsSource: (() => number) | undefined;
  private sandboxPoolSource: (() => SandboxPoolStats[] | undefined) | undefined;
  private storeSource: (() => SessionStoreStats | undefined) | undefined;
  /** The global meter provider the instruments were made with. */
  private provider: MeterProvider | undefined;

  constructor(readonly options: TelemetryOptions) {
    // Tracers are proxies that follow a provider registered later; meters are not.
    if (options.traces) this.tracer = trace.getTracer(METER_NAME, options.version);
    if (options.metrics) this.bind();
  }

  /**
   * (Re)creates the instruments on the global meter provider. Called again when the provider
   * changes, so an SDK started after the optimizer was built still gets every metric.
   */
  private bind(): void {
    this.provider = metrics.getMeterProvider();
    const meter: Meter = this.provider.getMeter(METER_NAME, this.options.version);
    const counter = (name: string, description: string, unit: string) => {
      this.counters[name] = meter.createCounter(name, { description, unit });
    };
    const histogram = (name: string, description: string) => {
      this.histograms[name] = meter.createHistogram(name, {
        description,
        unit: "s",
        advice: { explicitBucketBoundaries: [...DURATION_BUCKETS_SECONDS] },
      });
    };
    counter(Instruments.executions, "Executions by sandbox mode and outcome.", "{execution}");
    histogram(Instruments.executionDuration, "Wall-clock time of one execution.");
    counter(Instruments.toolCalls, "Upstream tool calls by server, tool and outcome.", "{call}");
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
    counter(
      Instruments.upstreamReconnects,
      "Reconnections to upstream MCP servers.",
      "{reconnect}",
    );
    counter(Instruments.toolCacheHits, "Memoised tool calls answered from the cache.", "{call}");
    counter(
      Instruments.toolCacheMisses,
      "Memoisable tool calls the cache could not answer.",
      "{call}",
    );
    counter(
      Instruments.toolCacheInvalidations,
      "Memo caches of a server dropped by a call to one of its writing tools.",
      "{invalidation}",
    );
    counter(
      Instruments.sandboxFallbacks,
      "Executions a hybrid sandbox ran on a fallback mode.",
      "{execution}",
    );
    meter
      .createObservableUpDownCounter(Instruments.sandboxSessions, {
        description: "Sandbox sessions (warm runners) held by the optimizer.",
        unit: "{session}",
      })
      .addCallback((result: ObservableResult) => {
        if (this.sandboxSessionsSource) result.observe(this.sandboxSessionsSource());
      });
    meter
      .createObservableGauge(Instruments.sandboxRunners, {
        description: "Runners of the sandbox's pool by mode and state (idle, active).",
        unit: "{runner}",
      })
      .addCallback((result: ObservableResult) => {
        let stats: SandboxPoolStats[] | undefined;
        try {
          stats = this.sandboxPoolSource?.();
        } catch {
          return; // a sandbox that cannot count its runners must not break a scrape
        }
        for (const s of stats ?? []) {
          result.observe(s.idle, { [Attr.mode]: s.mode, [Attr.runnerState]: "idle" });
          result.observe(s.active, { [Attr.mode]: s.mode, [Attr.runnerState]: "active" });
        }
      });
    this.bindStore(meter);
  }

  private bindStore(meter: Meter): void {
    const figures =
      (read: (a: { count: number; bytes: number }) => number) => (result: ObservableResult) => {
        let stats: SessionStoreStats | undefined;
        try {
          stats = this.storeSource?.();
        } catch {
          return;
        }
        if (!stats) return;
        const kind = { [Attr.storeKind]: stats.kind };
        result.observe(read(stats.sessions), { ...kind, [Attr.storeWhat]: "sessions" });
        for (const [scope, amount] of Object.entries(stats.entries.byKind))
          result.observe(read(amount), {
            ...kind,
            [Attr.storeWhat]: "entries",
            [Attr.storeScope]: scope,
          });
      };
    meter
      .createObservableGauge(Instruments.storeBytes, {
        description: "Bytes the session store holds: sessions, and entries by kind of scope.",
        unit: "By",
      })
      .addCallback(figures((a) => a.bytes));
    meter
      .createObservableGauge(Instruments.storeItems, {
        description: "Sessions, and entries by kind of scope, the session store holds.",
        unit: "{item}",
      })
      .addCallback(figures((a) => a.count));
    meter
      .createObservableCounter(Instruments.storeEvictions, {
        description: "What the session store removed: past its TTL (expired) or over capacity.",
        unit: "{item}",
      })
      .addCallback((result: ObservableResult) => {
        let stats: SessionStoreStats | undefined;
        try {
          stats = this.storeSource?.();
        } catch {
          return;
        }
        if (!stats) return;
        for (const reason of ["expired", "capacity"] as const)
          result.observe(stats.evictions[reason], {
            [Attr.storeKind]: stats.kind,
            [Attr.evictionReason]: reason,
          });
      });
  }

  /** Re-binds when an SDK registered a meter provider after the instruments were made. */
  private follow(): void {
    if (this.provider && metrics.getMeterProvider() !== this.provider) this.bind();
  }

  count(name: string, value: number, attributes?: Attributes): void {
    this.follow();
    if (value !== 0) this.counters[name]?.add(value, attributes);
  }

  seconds(name: string, ms: number, attributes?: Attributes): void {
    this.follow();
    this.histograms[name]?.record(ms / 1000, attributes);
  }

  observeSandboxSessions(source: () => number): void {
    this.sandboxSessionsSource = source;
  }

  observeSandboxPool(source: () => SandboxPoolStats[] | undefined): void {
    this.sandboxPoolSource = source;
  }

  /** The store's last stats, for the stored-bytes, items and evictions instruments. */
  observeStore(source: () => SessionStoreStats | undefined): void {
    this.storeSource = source;
  }

  private redact(text: string): string {
    return this.options.redact ? this.options.redact(text) : text;
  }

  /** The active trace context when traces are on, to parent spans started from other async contexts. */
  activeContext(): Context | undefined {
    return this.tracer ? context.active() : undefined;
  }

  /**
   * Runs `fn` in a span when traces are on; sets status and error type from the outcome.
   * `parent` overrides the active context (a sandbox's stream callbacks run in another one).
   */
  async span<T>(
    name: string,
    attributes: Attributes,
    fn: (span: Span | undefined) => Promise<T>,
    kind: SpanKind = SpanKind.INTERNAL,
    parent?: Context,
  ): Promise<T> {
    if (!this.tracer) return fn(undefined);
    const options = { attributes, kind };
    const run = async (span: Span) => {
      try {
        // Success leaves the status unset, as the semantic conventions ask of instrumentation.
        return await fn(span);
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        span.setAttribute(Attr.errorType, typeof code === "string" ? code : "Error");
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: this.redact(String((error as Error).message ?? "")).slice(0, 500),
        });
        throw error;
      } finally {
        span.end();
      }
    };
    return parent
      ? this.tracer.startActiveSpan(name, options, parent, run)
      : this.tracer.startActiveSpan(name, options, run);
  }
}

export { SpanKind };
