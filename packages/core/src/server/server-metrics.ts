import { type Attributes, type Histogram, type MeterProvider, metrics } from "@opentelemetry/api";
import {
  Attr,
  DURATION_BUCKETS_SECONDS,
  Instruments,
  METER_NAME,
  SESSION_DURATION_BUCKETS_SECONDS,
} from "../telemetry/instruments.js";

/** How a client reaches the server, as the semantic conventions' network attributes say it. */
export interface ServerNetwork {
  /** `network.transport`: "pipe" for stdio, "tcp" for HTTP. */
  transport: "pipe" | "tcp";
  /** `network.protocol.name`: "http" over HTTP; absent over stdio. */
  protocolName?: string;
  /** `network.protocol.version`, e.g. "1.1". */
  protocolVersion?: string;
}

/**
 * The MCP semantic conventions' server metrics, `mcp.server.operation.duration` and
 * `mcp.server.session.duration`, through @opentelemetry/api. One set of instruments for every
 * connection of the process (servers are made per connection or per request), made again when
 * an SDK registers a meter provider later.
 */
class McpServerMetrics {
  private provider: MeterProvider | undefined;
  private operation: Histogram | undefined;
  private session: Histogram | undefined;

  private bind(): void {
    const provider = metrics.getMeterProvider();
    if (provider === this.provider) return;
    this.provider = provider;
    const meter = provider.getMeter(METER_NAME);
    const advice = { explicitBucketBoundaries: [...DURATION_BUCKETS_SECONDS] };
    this.operation = meter.createHistogram(Instruments.mcpServerOperationDuration, {
      description:
        "MCP request duration as observed on the receiver from the time it was received until the result or error is sent.",
      unit: "s",
      advice,
    });
    this.session = meter.createHistogram(Instruments.mcpServerSessionDuration, {
      description: "The duration of the MCP session as observed on the MCP server.",
      unit: "s",
      advice: { explicitBucketBoundaries: [...SESSION_DURATION_BUCKETS_SECONDS] },
    });
  }

  operationDone(ms: number, attributes: Attributes): void {
    this.bind();
    this.operation?.record(ms / 1000, attributes);
  }

  sessionDone(ms: number, attributes: Attributes): void {
    this.bind();
    this.session?.record(ms / 1000, attributes);
  }
}

export const mcpServerMetrics = new McpServerMetrics();

/** The network attributes of one connection. */
export function networkAttributes(network: ServerNetwork): Attributes {
  return {
    [Attr.networkTransport]: network.transport,
    ...(network.protocolName ? { [Attr.networkProtocolName]: network.protocolName } : {}),
    ...(network.protocolVersion ? { [Attr.networkProtocolVersion]: network.protocolVersion } : {}),
  };
}
