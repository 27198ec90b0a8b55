import {
  Client,
  SSEClientTransport,
  StreamableHTTPClientTransport,
  type Transport,
} from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { isStdioServer, type ServerConfig } from "../config/schema.js";
import type {
  CallToolOptions,
  ToolCallResult,
  Upstream,
  UpstreamInfo,
  UpstreamPrompt,
  UpstreamResource,
  UpstreamTool,
} from "../contracts/upstream.js";
import { ErrorCodes, OptimizerError } from "../errors.js";
import type { JsonObject } from "../json.js";
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  type RejectedLine,
  StdioMessageBuffer,
} from "./stdio-message-buffer.js";

export type UpstreamEvent =
  | { type: "connected"; server: string; reconnect: boolean }
  | { type: "disconnected"; server: string; reason: string }
  | { type: "start_failed"; server: string; attempt: number; reason: string; retryInMs: number }
  | { type: "reconnect_failed"; server: string; attempt: number; reason: string }
  | { type: "tools_changed"; server: string; count: number }
  | {
      type: "message_rejected";
      server: string;
      reason: RejectedLine["reason"];
      bytes: number;
      limit: number;
    };

export interface McpUpstreamOptions {
  /** The server's name in the `mcpServers` map. */
  name: string;
  /** How to reach it: stdio (`command`) or Streamable HTTP (`url`). */
  server: ServerConfig;
  /** Per-call timeout in ms when the server has no `timeout` of its own. Default 60000. */
  callTimeoutMs?: number;
  /** How long starting (connecting and listing tools) may take, in ms. Default 30000. */
  connectTimeoutMs?: number;
  /**
   * Largest message a stdio server may send, in bytes; a larger result fails its call with
   * UPSTREAM_RESULT_TOO_LARGE and the connection stays up. Default: the server's
   * `maxResultBytes`, else 10 MiB.
   */
  maxResultBytes?: number;
  /** First reconnect delay in ms; doubles per attempt. Default 250. */
  reconnectInitialDelayMs?: number;
  /** Longest reconnect delay in ms. Default 15000. */
  reconnectMaxDelayMs?: number;
  /** How long a call waits for a reconnect in progress before failing, in ms. Default 10000. */
  reconnectWaitMs?: number;
  /** The identity this client announces. Default { name: "mcp-optimizer", version: "0" }. */
  clientInfo?: { name: string; version: string };
  /** Connection events, for logs and metrics. */
  onEvent?: (event: UpstreamEvent) => void;
}

const STDERR_TAIL = 4096;
/** The JSON-RPC error code of the response that stands in for an oversized result. */
const RESULT_TOO_LARGE_RPC_CODE = -32097;

/**
 * One upstream MCP server on the official SDK client, over stdio or Streamable HTTP.
 * Starts again with backoff when the server fails to start, crashes or the connection drops:
 * the call in flight fails with UPSTREAM_UNAVAILABLE, a call while it is starting waits for
 * the start, and a call while a failed start waits for its next attempt fails at once with
 * UPSTREAM_UNAVAILABLE and the last start error.
 */
export class McpUpstream implements Upstream {
  readonly name: string;
  private client: Client | undefined;
  private transport: Transport | undefined;
  private tools: UpstreamTool[] = [];
  private readonly toolListeners = new Set<(tools: UpstreamTool[]) => void>();
  private connected = false;
  private everConnected = false;
  private closed = false;
  private connecting: Promise<void> | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectAttempt = 0;
  /** Start attempts that failed in a row (0 once connected). */
  private failedStarts = 0;
  private reconnects = 0;
  private lastError: string | undefined;
  private stderrTail = "";
  private generation = 0;

  constructor(private readonly options: McpUpstreamOptions) {
    this.name = options.name;
  }

  /**
   * Connects (or waits for the connection in progress). Rejects with UPSTREAM_UNAVAILABLE;
   * a failed start is then retried in the background with backoff.
   */
  connect(): Promise<void> {
    if (this.closed) return Promise.reject(this.closedError());
    if (this.connected) return Promise.resolve();
    if (!this.connecting) {
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = undefined;
      this.connecting = this.open(this.everConnected)
        .catch((error: unknown) => {
          this.scheduleReconnect();
          throw error;
        })
        .finally(() => {
          this.connecting = undefined;
        });
    }
    return this.connecting;
  }

  info(): UpstreamInfo {
    const client = this.client;
    const version = client?.getServerVersion();
    return {
      name: this.name,
      transport: isStdioServer(this.options.server) ? "stdio" : "http",
      connected: this.connected,
      ...(version
        ? {
            serverInfo: {
              name: version.name,
              version: version.version,
              ...(version.title ? { title: version.title } : {}),
            },
          }
        : {}),
      ...(client?.getNegotiatedProtocolVersion()
        ? { protocolVersion: client.getNegotiatedProtocolVersion()! }
        : {}),
      ...(client?.getServerCapabilities()
        ? { capabilities: client.getServerCapabilities() as JsonObject }
        : {}),
      ...(client?.getInstructions() ? { instructions: client.getInstructions()! } : {}),
      reconnects: this.reconnects,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  async listTools(): Promise<UpstreamTool[]> {
    await this.ready();
    return this.tools;
  }

  async listResources(): Promise<UpstreamResource[]> {
    const client = await this.ready();
    if (!client.getServerCapabilities()?.resources) return [];
    const { resources } = await this.guard(() => client.listResources());
    return resources.map((r) => ({
      uri: r.uri,
      name: r.name,
      ...(r.title ? { title: r.title } : {}),
      ...(r.description ? { description: r.description } : {}),
      ...(r.mimeType ? { mimeType: r.mimeType } : {}),
    }));
  }

  async listPrompts(): Promise<UpstreamPrompt[]> {
    const client = await this.ready();
    if (!client.getServerCapabilities()?.prompts) return [];
    const { prompts } = await this.guard(() => client.listPrompts());
    return prompts.map((p) => ({
      name: p.name,
      ...(p.title ? { title: p.title } : {}),
      ...(p.description ? { description: p.description } : {}),
      ...(p.arguments
        ? {
            arguments: p.arguments.map((a) => ({
              name: a.name,
              ...(a.description ? { description: a.description } : {}),
              ...(a.required !== undefined ? { required: a.required } : {}),
            })),
          }
        : {}),
    }));
  }

  async callTool(
    name: string,
    args: JsonObject,
    options: CallToolOptions = {},
  ): Promise<ToolCallResult> {
    const client = await this.ready();
    // The server's own `timeout` bounds each call; the caller's (the execution's time left) may be shorter.
    const own = this.options.server.timeout ?? this.options.callTimeoutMs ?? 60_000;
    const timeout = Math.min(own, options.timeoutMs ?? own);
    const result = await this.guard(
      () =>
        client.callTool(
          { name, arguments: args },
          { timeout, ...(options.signal ? { signal: options.signal } : {}) },
        ),
      `${this.name}.${name}`,
      timeout,
    );
    return result as unknown as ToolCallResult;
  }

  onToolsChanged(listener: (tools: UpstreamTool[]) => void): () => void {
    this.toolListeners.add(listener);
    return () => this.toolListeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.connected = false;
    const client = this.client;
    this.client = undefined;
    this.transport = undefined;
    await client?.close().catch(() => {});
  }

  /** The OS process id of a stdio server (tests use it to crash the server). */
  get pid(): number | undefined {
    return this.transport instanceof StdioClientTransport
      ? (this.transport.pid ?? undefined)
      : undefined;
  }

  private async ready(): Promise<Client> {
    if (this.closed) throw this.closedError();
    if (this.connected && this.client) return this.client;
    // A failed start waiting for its next attempt: fail now, with why, rather than start it per call.
    if (!this.connecting && this.failedStarts > 0) throw this.unavailable(this.lastError ?? "");
    const wait = this.connecting ?? this.connect();
    // A first start may take its whole start timeout; a reconnect gets reconnectWaitMs.
    const limit = this.everConnected
      ? (this.options.reconnectWaitMs ?? 10_000)
      : (this.options.connectTimeoutMs ?? 30_000) + 1000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        wait,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(this.unavailable(`it did not come back within ${limit} ms`)),
            limit,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
    if (!this.connected || !this.client) throw this.unavailable(this.lastError ?? "not connected");
    return this.client;
  }

  private async open(reconnect: boolean): Promise<void> {
    const generation = ++this.generation;
    const transport = this.createTransport();
    const client = new Client(this.options.clientInfo ?? { name: "mcp-optimizer", version: "0" }, {
      listChanged: {
        tools: {
          onChanged: (error, tools) => {
            if (error || !tools || generation !== this.generation) return;
            this.setTools(tools as never);
          },
        },
      },
    });
    transport.onclose = () => this.onDisconnect(generation, "the connection closed");
    const timeoutMs = this.options.connectTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        client.connect(transport),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]);
      const { tools } = await client.listTools();
      if (this.closed || generation !== this.generation) {
        await client.close().catch(() => {});
        throw this.closedError();
      }
      this.client = client;
      this.transport = transport;
      this.connected = true;
      this.everConnected = true;
      this.reconnectAttempt = 0;
      this.failedStarts = 0;
      this.lastError = undefined;
      if (reconnect) this.reconnects++;
      this.setTools(tools as never, !reconnect);
      this.options.onEvent?.({ type: "connected", server: this.name, reconnect });
    } catch (error) {
      await client.close().catch(() => {});
      if (error instanceof OptimizerError) throw error;
      this.failedStarts++;
      this.lastError = `${this.everConnected ? "restart" : "start"} failed: ${this.describe(error)}`;
      throw this.unavailable(this.lastError);
    } finally {
      clearTimeout(timer);
    }
  }

  private createTransport(): Transport {
    const server = this.options.server;
    if (isStdioServer(server)) {
      const transport = new StdioClientTransport({
        command: server.command,
        args: server.args,
        ...(server.env ? { env: server.env } : {}),
        ...(server.cwd ? { cwd: server.cwd } : {}),
        stderr: "pipe",
      });
      transport.stderr?.on("data", (chunk: Buffer) => {
        this.stderrTail = (this.stderrTail + chunk.toString("utf8")).slice(-STDERR_TAIL);
      });
      this.boundMessages(transport, server.maxResultBytes);
      return transport;
    }
    const url = new URL(server.url);
    const requestInit = server.headers ? { headers: server.headers } : undefined;
    if (server.type === "sse")
      return new SSEClientTransport(url, requestInit ? { requestInit } : {});
    return new StreamableHTTPClientTransport(url, requestInit ? { requestInit } : {});
  }

  private setTools(raw: UpstreamTool[], silent = false): void {
    const tools = raw.map((t) => ({
      name: t.name,
      ...(t.title ? { title: t.title } : {}),
      ...(t.description ? { description: t.description } : {}),
      inputSchema: (t.inputSchema ?? { type: "object" }) as JsonObject,
      ...(t.outputSchema ? { outputSchema: t.outputSchema as JsonObject } : {}),
      ...(t.annotations ? { annotations: t.annotations } : {}),
    }));
    const changed = JSON.stringify(tools) !== JSON.stringify(this.tools);
    this.tools = tools;
    if (!changed || silent) return;
    this.options.onEvent?.({ type: "tools_changed", server: this.name, count: tools.length });
    for (const listener of this.toolListeners) {
      try {
        listener(tools);
      } catch {}
    }
  }

  private onDisconnect(generation: number, reason: string): void {
    if (generation !== this.generation || !this.connected) return;
    this.connected = false;
    this.lastError = this.stderrTail ? `${reason}; stderr: ${lastLines(this.stderrTail)}` : reason;
    this.options.onEvent?.({ type: "disconnected", server: this.name, reason });
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const initial = this.options.reconnectInitialDelayMs ?? 250;
    const max = this.options.reconnectMaxDelayMs ?? 15_000;
    const delay =
      Math.min(max, initial * 2 ** this.reconnectAttempt) * (0.75 + Math.random() * 0.5);
    if (!this.everConnected) {
      this.options.onEvent?.({
        type: "start_failed",
        server: this.name,
        attempt: this.failedStarts,
        reason: this.lastError ?? "",
        retryInMs: Math.round(delay),
      });
    }
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.closed || this.connected || this.connecting) return;
      this.reconnectAttempt++;
      this.connecting = this.open(this.everConnected)
        .catch((error: unknown) => {
          if (this.everConnected) {
            this.options.onEvent?.({
              type: "reconnect_failed",
              server: this.name,
              attempt: this.reconnectAttempt,
              reason: error instanceof Error ? error.message : String(error),
            });
          }
          this.scheduleReconnect();
        })
        .finally(() => {
          this.connecting = undefined;
        });
    }, delay);
    this.reconnectTimer.unref();
  }

  /**
   * Puts a per-message bound on a stdio transport in place of the SDK's whole-buffer one,
   * whose overflow kills the server: an oversized result fails its own call instead.
   */
  private boundMessages(transport: StdioClientTransport, configured: number | undefined): void {
    const limit = this.options.maxResultBytes ?? configured ?? DEFAULT_MAX_MESSAGE_BYTES;
    const target = transport as unknown as { _readBuffer?: unknown };
    if (!("_readBuffer" in target)) {
      throw new Error(
        "The MCP SDK's StdioClientTransport no longer has _readBuffer: update mcp-upstream.ts.",
      );
    }
    target._readBuffer = new StdioMessageBuffer(limit, (line) => {
      this.options.onEvent?.({
        type: "message_rejected",
        server: this.name,
        reason: line.reason,
        bytes: line.bytes,
        limit: line.limit,
      });
      if (line.reason !== "too_large" || line.id === undefined) return undefined;
      return {
        jsonrpc: "2.0",
        id: line.id,
        error: {
          code: RESULT_TOO_LARGE_RPC_CODE,
          message: `result of ${line.bytes} bytes over the limit of ${line.limit}`,
          data: { bytes: line.bytes, limit: line.limit },
        },
      };
    });
  }

  /** Maps SDK failures to the framework's codes. */
  private async guard<T>(fn: () => Promise<T>, what = this.name, timeoutMs?: number): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === RESULT_TOO_LARGE_RPC_CODE) {
        const { bytes, limit } = (error as { data: { bytes: number; limit: number } }).data;
        throw new OptimizerError(
          ErrorCodes.UPSTREAM_RESULT_TOO_LARGE,
          `${what} returned ${formatBytes(bytes)}, over the ${formatBytes(limit)} limit for one result. Ask for less per call (a page, a filter, a range), or raise the server's "maxResultBytes".`,
          { details: { server: this.name, bytes, limit } },
        );
      }
      if (code === "REQUEST_TIMEOUT" || /timed? ?out/i.test((error as Error).message ?? "")) {
        throw new OptimizerError(
          ErrorCodes.UPSTREAM_TIMEOUT,
          `${what} did not answer within ${timeoutMs ?? "the"} ms. Try fewer items per call, or raise the server's "timeout".`,
          { details: { server: this.name, timeoutMs } },
        );
      }
      if (
        code === "CONNECTION_CLOSED" ||
        code === "NOT_CONNECTED" ||
        code === "SEND_FAILED" ||
        !this.connected
      ) {
        throw this.unavailable(this.describe(error));
      }
      throw new OptimizerError(ErrorCodes.TOOL_ERROR, `${what} failed: ${this.describe(error)}`, {
        details: { server: this.name },
      });
    }
  }

  private unavailable(reason: string): OptimizerError {
    return new OptimizerError(
      ErrorCodes.UPSTREAM_UNAVAILABLE,
      `The MCP server "${this.name}" is unavailable (${reason}). It is started again automatically, with backoff; try again shortly.`,
      { details: { server: this.name, ...(this.lastError ? { lastError: this.lastError } : {}) } },
    );
  }

  private closedError(): OptimizerError {
    return new OptimizerError(
      ErrorCodes.UPSTREAM_UNAVAILABLE,
      `The MCP server "${this.name}" was closed.`,
      {
        details: { server: this.name },
      },
    );
  }

  private describe(error: unknown): string {
    const message = error instanceof Error ? error.message : String(error);
    return this.stderrTail && !this.connected
      ? `${message}; stderr: ${lastLines(this.stderrTail)}`
      : message;
  }
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024
    ? `${(bytes / (1024 * 1024)).toFixed(1)} MiB (${bytes} bytes)`
    : `${bytes} bytes`;
}

function lastLines(text: string): string {
  return text.trim().split("\n").slice(-3).join(" | ").slice(-500);
}

export function createMcpUpstream(options: McpUpstreamOptions): McpUpstream {
  return new McpUpstream(options);
}
