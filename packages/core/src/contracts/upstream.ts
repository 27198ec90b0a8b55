import type { JsonObject } from "../json.js";

/** Tool annotations as the MCP specification defines them. */
export interface ToolAnnotations {
  title?: string;
  readOnlyHint?: boolean;
  destructiveHint?: boolean;
  idempotentHint?: boolean;
  openWorldHint?: boolean;
}

export interface UpstreamTool {
  name: string;
  title?: string;
  description?: string;
  inputSchema: JsonObject;
  outputSchema?: JsonObject;
  annotations?: ToolAnnotations;
}

export interface UpstreamResource {
  uri: string;
  name: string;
  title?: string;
  description?: string;
  mimeType?: string;
}

export interface UpstreamPrompt {
  name: string;
  title?: string;
  description?: string;
  arguments?: { name: string; description?: string; required?: boolean }[];
}

/** MCP content blocks, kept loose: upstreams send text, images, audio, links, resources. */
export type ContentBlock = { type: string; [key: string]: unknown };

/** A tools/call result as the MCP specification defines it. */
export interface ToolCallResult {
  content: ContentBlock[];
  structuredContent?: JsonObject;
  isError?: boolean;
  [key: string]: unknown;
}

export interface UpstreamInfo {
  name: string;
  /** "stdio" | "http" | anything an implementation names. */
  transport: string;
  connected: boolean;
  serverInfo?: { name: string; version: string; title?: string };
  protocolVersion?: string;
  capabilities?: JsonObject;
  instructions?: string;
  reconnects: number;
  lastError?: string;
}

export interface CallToolOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * One connected MCP server. The reference implementation is `McpUpstream` (core), on
 * the official MCP client SDK over stdio and Streamable HTTP.
 */
export interface Upstream {
  readonly name: string;
  connect(): Promise<void>;
  info(): UpstreamInfo;
  listTools(): Promise<UpstreamTool[]>;
  listResources(): Promise<UpstreamResource[]>;
  listPrompts(): Promise<UpstreamPrompt[]>;
  /**
   * Calls a tool. A result with `isError` resolves (the caller decides); a transport
   * failure rejects with UPSTREAM_UNAVAILABLE, a timeout with UPSTREAM_TIMEOUT.
   */
  callTool(name: string, args: JsonObject, options?: CallToolOptions): Promise<ToolCallResult>;
  /** Called when the server's tool list changes (after the new list is fetched). */
  onToolsChanged?(listener: (tools: UpstreamTool[]) => void): () => void;
  close(): Promise<void>;
}
