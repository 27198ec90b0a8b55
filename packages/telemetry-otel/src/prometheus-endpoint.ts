import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ErrorCodes, OptimizerError } from "@mcp-optimizer/core";
import { diag } from "@opentelemetry/api";
import { PrometheusExporter, PrometheusSerializer } from "@opentelemetry/exporter-prometheus";
import { withPrometheusUnits } from "./prometheus-names.js";

export interface PrometheusEndpointOptions {
  /** Interface to listen on. Default: every interface. */
  host?: string;
  /** TCP port; 0 picks a free one (see `url`). Default 9464, Prometheus' registered port. */
  port?: number;
  /** Path that serves the metrics. Default "/metrics". */
  path?: string;
  /** Prefix for every metric name, e.g. "myapp". Default none. */
  prefix?: string;
  /** Append the unit to names ("_seconds", "_bytes") as Prometheus names do. Default true. */
  unitSuffixes?: boolean;
  /** Leave out the otel_scope_name/otel_scope_version labels. Default false. */
  withoutScopeInfo?: boolean;
  /** Leave out the target_info series (resource attributes). Default false. */
  withoutTargetInfo?: boolean;
}

const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * A Prometheus scrape endpoint. `reader` is a MetricReader (the SDK's PrometheusExporter,
 * its own server disabled) to hand to a MeterProvider; the endpoint serializes what it
 * collects with the SDK's serializer after adding unit suffixes to the names.
 */
export class PrometheusEndpoint {
  /** Add this to a MeterProvider's `readers`. */
  readonly reader: PrometheusExporter;
  private readonly serializer: PrometheusSerializer;
  private readonly path: string;
  private server: Server | undefined;
  private address: string | undefined;

  constructor(private readonly options: PrometheusEndpointOptions = {}) {
    const path = options.path ?? "/metrics";
    if (!path.startsWith("/")) {
      throw new OptimizerError(
        ErrorCodes.INVALID_CONFIG,
        `prometheus.path starts with "/"; got "${path}".`,
      );
    }
    const port = options.port ?? 9464;
    if (!Number.isInteger(port) || port < 0 || port > 65_535) {
      throw new OptimizerError(
        ErrorCodes.INVALID_CONFIG,
        `prometheus.port is an integer from 0 to 65535; got ${port}.`,
      );
    }
    this.path = path;
    this.reader = new PrometheusExporter({ preventServerStart: true });
    this.serializer = new PrometheusSerializer(
      options.prefix,
      false,
      undefined,
      options.withoutTargetInfo ?? false,
      options.withoutScopeInfo ?? false,
    );
  }

  /** The scrape URL once listening. */
  get url(): string | undefined {
    return this.address;
  }

  /** The metrics in the Prometheus text format, as a scrape would get them. */
  async scrape(): Promise<string> {
    const { resourceMetrics, errors } = await this.reader.collect();
    for (const error of errors) diag.warn("mcp-optimizer prometheus: collection error", error);
    const metrics =
      (this.options.unitSuffixes ?? true) ? withPrometheusUnits(resourceMetrics) : resourceMetrics;
    return this.serializer.serialize(metrics);
  }

  /** Starts the HTTP server; resolves to the scrape URL. */
  async listen(): Promise<string> {
    if (this.address) return this.address;
    const server = createServer((req, res) => void this.handle(req, res));
    const port = this.options.port ?? 9464;
    await new Promise<void>((resolve, reject) => {
      server.once("error", (error: NodeJS.ErrnoException) =>
        reject(
          new OptimizerError(
            ErrorCodes.INVALID_CONFIG,
            `The Prometheus endpoint cannot listen on ${this.options.host ?? "*"}:${port}: ${error.code ?? error.message}. Pick another prometheus.port.`,
            {
              cause: error,
              // Who configured it names the setting in its own terms (the CLI: telemetry.prometheusPort).
              details: {
                setting: "prometheus.port",
                host: this.options.host ?? "*",
                port,
                reason: error.code ?? error.message,
              },
            },
          ),
        ),
      );
      server.listen(port, this.options.host, () => resolve());
    });
    server.on("error", (error) => diag.error("mcp-optimizer prometheus: server error", error));
    this.server = server;
    const { address, family, port: bound } = server.address() as AddressInfo;
    const host =
      address === "::" || address === "0.0.0.0"
        ? "localhost"
        : family === "IPv6"
          ? `[${address}]`
          : address;
    this.address = `http://${host}:${bound}${this.path}`;
    return this.address;
  }

  /** Stops the HTTP server (the reader is shut down with its MeterProvider). */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.address = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?", 1)[0];
    if (path !== this.path || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(404, { "content-type": "text/plain" }).end("Not found\n");
      return;
    }
    try {
      const body = await this.scrape();
      res.writeHead(200, { "content-type": CONTENT_TYPE });
      res.end(req.method === "HEAD" ? undefined : body);
    } catch (error) {
      diag.error("mcp-optimizer prometheus: scrape failed", error);
      res.writeHead(500, { "content-type": "text/plain" }).end("# scrape failed\n");
    }
  }
}

/** A Prometheus endpoint for a MeterProvider you build yourself (see `startTelemetry` otherwise). */
export function createPrometheusEndpoint(
  options: PrometheusEndpointOptions = {},
): PrometheusEndpoint {
  return new PrometheusEndpoint(options);
}
