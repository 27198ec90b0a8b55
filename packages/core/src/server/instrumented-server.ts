import { Server } from "@modelcontextprotocol/server";
import type { Attributes } from "@opentelemetry/api";
import { Attr } from "../telemetry/instruments.js";
import { mcpServerMetrics, networkAttributes, type ServerNetwork } from "./server-metrics.js";

export interface ServerInstrumentation {
  /** How clients reach this server (network attributes). Default: unknown, left out. */
  network?: ServerNetwork;
  /** Tools whose names may label metrics (other names would let clients grow the series). */
  toolNames?: readonly string[];
  /** Record the metrics. Default true. */
  metrics?: boolean;
}

/**
 * The SDK's Server, timing every request it handles with the MCP semantic conventions' server
 * metrics: `mcp.server.operation.duration` per request (method, tool, protocol version,
 * network, error type and JSON-RPC code), `mcp.server.session.duration` for each session that
 * began with `initialize` (stdio, 2025-era HTTP) when it closes. Uses the SDK's `_wrapHandler`
 * hook, which every registration (the SDK's own initialize and ping included) goes through.
 */
export class InstrumentedServer extends Server {
  private instrumentation: ServerInstrumentation = {};
  private sessionStarted: number | undefined;

  constructor(
    info: ConstructorParameters<typeof Server>[0],
    options: ConstructorParameters<typeof Server>[1],
    instrumentation: ServerInstrumentation = {},
  ) {
    super(info, options);
    this.instrumentation = instrumentation;
  }

  protected override _wrapHandler(
    method: string,
    handler: Parameters<Server["_wrapHandler"]>[1],
  ): ReturnType<Server["_wrapHandler"]> {
    const inner = super._wrapHandler(method, handler);
    // Runs for registrations made inside Server's constructor too: read options at call time.
    return async (request, ctx) => {
      if (this.instrumentation.metrics === false) return inner(request, ctx);
      const started = performance.now();
      let errorType: string | undefined;
      let statusCode: string | undefined;
      try {
        const result = await inner(request, ctx);
        if (method === "initialize") this.sessionStarted ??= started;
        if (method === "tools/call" && (result as { isError?: unknown }).isError === true)
          errorType = "tool_error";
        return result;
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        if (typeof code === "number") statusCode = String(code);
        errorType = statusCode ?? (error instanceof Error ? error.name : "_OTHER");
        throw error;
      } finally {
        mcpServerMetrics.operationDone(performance.now() - started, {
          ...this.baseAttributes(),
          [Attr.mcpMethodName]: method,
          ...this.toolAttributes(method, request.params),
          ...(errorType ? { [Attr.errorType]: errorType } : {}),
          ...(statusCode ? { [Attr.rpcResponseStatusCode]: statusCode } : {}),
        });
      }
    };
  }

  protected override _onclose(): void {
    const started = this.sessionStarted;
    const attributes = this.baseAttributes();
    this.sessionStarted = undefined;
    super._onclose();
    if (started !== undefined && this.instrumentation.metrics !== false) {
      mcpServerMetrics.sessionDone(performance.now() - started, attributes);
    }
  }

  private baseAttributes(): Attributes {
    const network = this.instrumentation.network;
    return {
      ...(network ? networkAttributes(network) : {}),
      ...(this._negotiatedProtocolVersion
        ? { [Attr.mcpProtocolVersion]: this._negotiatedProtocolVersion }
        : {}),
    };
  }

  private toolAttributes(method: string, params: unknown): Attributes {
    if (method !== "tools/call") return {};
    const name = (params as { name?: unknown } | undefined)?.name;
    const known = typeof name === "string" && this.instrumentation.toolNames?.includes(name);
    return {
      [Attr.operationName]: "execute_tool",
      ...(known ? { [Attr.toolName]: name } : {}),
    };
  }
}
