import {
  type CallToolOptions,
  createRedactor,
  ErrorCodes,
  type JsonObject,
  OptimizerError,
  type Redactor,
  type ToolCallResult,
  type Upstream,
  type UpstreamInfo,
  type UpstreamPrompt,
  type UpstreamResource,
  type UpstreamTool,
} from "@mcp-optimizer/core";
import { Authenticator } from "./auth.js";
import { buildRequest } from "./build-request.js";
import { loadDocument, type OpenApiDocument } from "./load-document.js";
import type { OpenApiServerConfig } from "./openapi-config.js";
import { type OpenApiOperation, operationsToTools } from "./operations-to-tools.js";
import { readResponse } from "./read-response.js";

export interface OpenApiUpstreamOptions {
  /** The upstream's name: the global the program calls it by. */
  name: string;
  /** The resolved config entry (see `resolveOpenApiConfig`): document, base URL, auth, headers, timeout. */
  config: OpenApiServerConfig;
  /** Values this upstream must never show (auth and header values are added). Default: none. */
  secrets?: string[];
  /** Largest response body read, in bytes; a larger one fails the call. Default 10 MiB. */
  maxResponseBytes?: number;
  /** First retry delay after the document could not be fetched, in ms; doubles per attempt. Default 1000. */
  retryInitialDelayMs?: number;
  /** Longest retry delay, in ms. Default 60000. */
  retryMaxDelayMs?: number;
}

/**
 * An OpenAPI 3.0/3.1 document as an upstream: one tool per operation. Requests are made on
 * the host with the configured base URL, auth and headers; the sandbox sees only the tool's
 * arguments and the response. Non-2xx answers resolve as `isError` results naming the status
 * and the server's message (502, 503, 504 and network failures reject UPSTREAM_UNAVAILABLE,
 * so read-only calls are retried).
 */
export class OpenApiUpstream implements Upstream {
  readonly name: string;
  private readonly config: OpenApiServerConfig;
  private readonly redactor: Redactor;
  private readonly auth: Authenticator;
  private readonly timeoutMs: number;
  private readonly maxResponseBytes: number;
  private document: OpenApiDocument | undefined;
  private operations = new Map<string, OpenApiOperation>();
  private baseUrl = "";
  private connected = false;
  private closed = false;
  private connecting: Promise<void> | undefined;
  private lastError: string | undefined;
  private readonly toolListeners = new Set<(tools: UpstreamTool[]) => void>();
  private retryTimer: NodeJS.Timeout | undefined;
  private retryAttempt = 0;
  private reconnects = 0;

  constructor(private readonly options: OpenApiUpstreamOptions) {
    this.name = options.name;
    this.config = options.config;
    this.timeoutMs = options.config.timeout ?? 60_000;
    this.maxResponseBytes = options.maxResponseBytes ?? 10 * 1024 * 1024;
    this.redactor = createRedactor([...secretsOf(options.config), ...(options.secrets ?? [])]);
    this.auth = new Authenticator(options.config.auth, this.timeoutMs);
  }

  /** Loads and validates the document and builds the tools. Rejects with a typed error. */
  connect(): Promise<void> {
    if (this.closed) return Promise.reject(this.closedError());
    if (this.connected) return Promise.resolve();
    this.connecting ??= this.load().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  info(): UpstreamInfo {
    const doc = this.document;
    return {
      name: this.name,
      transport: "openapi",
      connected: this.connected,
      ...(doc
        ? {
            serverInfo: {
              name: doc.info.title,
              version: doc.info.version,
              title: this.config.description ?? doc.info.title,
            },
            protocolVersion: `openapi ${doc.openapi}`,
            ...(doc.info.description ? { instructions: doc.info.description } : {}),
          }
        : {}),
      reconnects: this.reconnects,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  async listTools(): Promise<UpstreamTool[]> {
    await this.ready();
    return [...this.operations.values()].map((op) => op.tool);
  }

  async listResources(): Promise<UpstreamResource[]> {
    await this.ready();
    return [];
  }

  async listPrompts(): Promise<UpstreamPrompt[]> {
    await this.ready();
    return [];
  }

  async callTool(
    name: string,
    args: JsonObject,
    options: CallToolOptions = {},
  ): Promise<ToolCallResult> {
    await this.ready();
    const op = this.operations.get(name);
    if (!op) {
      throw new OptimizerError(
        ErrorCodes.TOOL_NOT_FOUND,
        `${this.name} has no operation "${name}".`,
        { details: { server: this.name, tool: name } },
      );
    }
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    let result = await this.send(op, args, timeoutMs, options.signal);
    // An OAuth token the server no longer accepts: fetch a new one and try once more.
    if (result.status === 401 && this.auth.invalidate())
      result = await this.send(op, args, timeoutMs, options.signal);
    return result.result;
  }

  /** Called when the tools appear after a document that could not be fetched at first is loaded. */
  onToolsChanged(listener: (tools: UpstreamTool[]) => void): () => void {
    this.toolListeners.add(listener);
    return () => this.toolListeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.connected = false;
    clearTimeout(this.retryTimer);
  }

  private async send(
    op: OpenApiOperation,
    args: JsonObject,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<{ status: number; result: ToolCallResult }> {
    const request = buildRequest(
      op,
      args,
      this.baseUrl,
      this.config.headers ?? {},
      await this.auth.parts(),
    );
    const timeout = AbortSignal.timeout(timeoutMs);
    const abort = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const where = `${this.name}.${op.tool.name} (${op.method} ${op.path})`;
    let response: Response;
    try {
      response = await fetch(request.url, {
        method: request.method,
        headers: request.headers,
        ...(request.body !== undefined ? { body: request.body } : {}),
        signal: abort,
        redirect: "follow",
      });
    } catch (error) {
      if (timeout.aborted) {
        throw new OptimizerError(
          ErrorCodes.UPSTREAM_TIMEOUT,
          `${where} did not answer within ${timeoutMs} ms.`,
          { details: { server: this.name, tool: op.tool.name, timeoutMs } },
        );
      }
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new OptimizerError(
        ErrorCodes.UPSTREAM_UNAVAILABLE,
        this.redactor.text(
          `${where} cannot reach ${request.url.origin}: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
        ),
        { details: { server: this.name, tool: op.tool.name } },
      );
    }
    const result = await readResponse(response, {
      where,
      maxBytes: this.maxResponseBytes,
      redactor: this.redactor,
      details: { server: this.name, tool: op.tool.name },
    });
    return { status: response.status, result };
  }

  private async load(): Promise<void> {
    try {
      const doc = await loadDocument(this.config.openapi, { timeoutMs: this.timeoutMs });
      const operations = operationsToTools(doc);
      this.baseUrl = this.config.baseUrl ?? serverUrl(doc, this.config.openapi);
      this.document = doc;
      this.operations = new Map(operations.map((op) => [op.tool.name, op]));
      this.connected = true;
      this.lastError = undefined;
    } catch (error) {
      this.lastError = this.redactor.text((error as Error).message);
      // A document that could not be fetched (not one that is wrong) is tried again in the
      // background; when it loads, listeners (the engine's catalog) hear of the tools.
      if ((error as { code?: unknown }).code === ErrorCodes.UPSTREAM_UNAVAILABLE)
        this.scheduleRetry();
      throw error;
    }
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer) return;
    const first = this.options.retryInitialDelayMs ?? 1000;
    const delay = Math.min(
      this.options.retryMaxDelayMs ?? 60_000,
      first * 2 ** this.retryAttempt++,
    );
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect().then(
        () => {
          this.retryAttempt = 0;
          this.reconnects++;
          const tools = [...this.operations.values()].map((op) => op.tool);
          for (const listener of this.toolListeners) listener(tools);
        },
        () => {}, // load() scheduled the next attempt
      );
    }, delay);
    this.retryTimer.unref();
  }

  private async ready(): Promise<void> {
    if (this.closed) throw this.closedError();
    if (!this.connected) await this.connect();
  }

  private closedError(): OptimizerError {
    return new OptimizerError(
      ErrorCodes.UPSTREAM_UNAVAILABLE,
      `The OpenAPI upstream "${this.name}" was closed.`,
      { details: { server: this.name } },
    );
  }
}

/** The document's first server URL, with its variables' defaults, resolved against the document's own URL. */
function serverUrl(doc: OpenApiDocument, source: string): string {
  const server = doc.servers?.[0];
  if (!server) {
    if (/^https?:\/\//.test(source)) return new URL("/", source).href;
    throw new OptimizerError(
      ErrorCodes.INVALID_CONFIG,
      `${source} lists no servers: set "baseUrl" in the config entry.`,
      { details: { document: source } },
    );
  }
  const url = server.url.replace(/\{([^}]+)\}/g, (_m, v: string) => {
    const value = server.variables?.[v]?.default;
    if (value === undefined) {
      throw new OptimizerError(
        ErrorCodes.UPSTREAM_SPEC_INVALID,
        `${source}: the server URL ${server.url} uses {${v}} without a default; set "baseUrl" in the config entry.`,
      );
    }
    return value;
  });
  if (/^https?:\/\//.test(url)) return url;
  if (/^https?:\/\//.test(source)) return new URL(url, source).href;
  throw new OptimizerError(
    ErrorCodes.INVALID_CONFIG,
    `${source}: the server URL "${url}" is relative and the document is a file: set "baseUrl" in the config entry.`,
    { details: { document: source } },
  );
}

function secretsOf(config: OpenApiServerConfig): string[] {
  const out = Object.values(config.headers ?? {});
  const auth = config.auth;
  if (auth?.type === "bearer") out.push(auth.token);
  if (auth?.type === "apiKey") out.push(auth.value);
  if (auth?.type === "basic") out.push(auth.password);
  if (auth?.type === "oauth2") out.push(auth.clientSecret);
  return out.filter((s) => s.length >= 4);
}

/** `createOpenApiUpstream({ name, config })`: see OpenApiUpstream. */
export function createOpenApiUpstream(options: OpenApiUpstreamOptions): OpenApiUpstream {
  return new OpenApiUpstream(options);
}
