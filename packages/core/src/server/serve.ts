import { randomUUID } from "node:crypto";
import {
  createServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { NodeStreamableHTTPServerTransport } from "@modelcontextprotocol/node";
import { createMcpHandler, isLegacyRequest } from "@modelcontextprotocol/server";
import { StdioServerTransport, serveStdio } from "@modelcontextprotocol/server/stdio";
import type { MCPOptimizer } from "../engine/optimizer.js";
import { ErrorCodes, OptimizerError } from "../errors.js";
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  type RejectedLine,
  StdioMessageBuffer,
} from "../upstream/stdio-message-buffer.js";
import { type ApprovalsEndpointOptions, handleApprovalsRequest } from "./approvals-endpoint.js";
import { createHttpAccessCheck, type HttpAccessOptions, resolveHttpAccess } from "./http-access.js";
import {
  createOptimizerMcpServer,
  newConnectionSessionId,
  type OptimizerServerOptions,
} from "./optimizer-server.js";

export interface OptimizerStdioOptions extends OptimizerServerOptions {
  /** Largest message a client may send, in bytes; a larger one is answered with an error. Default 10 MiB. */
  maxMessageBytes?: number;
  /** Hears each line refused (too large, not JSON, not JSON-RPC), for logs and metrics. */
  onRejectedMessage?: (line: RejectedLine) => void;
  /** Where messages come from and go. Default process.stdin and process.stdout. */
  stdin?: NodeJS.ReadableStream;
  stdout?: NodeJS.WritableStream;
}

/**
 * Serves the optimizer over stdio: one connection, one optimizer session. Answers at once:
 * the optimizer starts in the background and upstreams that connect later are announced with
 * `notifications/tools/list_changed`. A message over `maxMessageBytes`, or one that is not
 * JSON-RPC, gets a JSON-RPC error (request id when it can be read, else null) and the server
 * goes on reading.
 */
export async function serveOptimizerStdio(
  optimizer: MCPOptimizer,
  options: OptimizerStdioOptions = {},
): Promise<{ close(): Promise<void>; sessionId: string; readonly rejectedMessages: number }> {
  // Handlers wait for what they need; a start failure is reported by the first of them.
  optimizer.start().catch(() => {});
  const sessionId = newConnectionSessionId();
  const transport = new StdioServerTransport(
    (options.stdin ?? process.stdin) as never,
    (options.stdout ?? process.stdout) as never,
  );
  let rejectedMessages = 0;
  replaceReadBuffer(
    transport,
    new StdioMessageBuffer(options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES, (line) => {
      rejectedMessages++;
      options.onRejectedMessage?.(line);
      void transport.send(rejectionResponse(line) as never).catch(() => {});
      return undefined;
    }),
  );
  const handle = serveStdio(
    () =>
      createOptimizerMcpServer(optimizer, {
        network: { transport: "pipe" },
        ...options,
        transportSessionId: () => sessionId,
        notifyToolListChanged: true,
      }),
    { transport },
  );
  return {
    sessionId,
    close: () => handle.close(),
    get rejectedMessages() {
      return rejectedMessages;
    },
  };
}

/** The JSON-RPC error a refused line gets: -32700 for text that is not JSON, else -32600. */
function rejectionResponse(line: RejectedLine) {
  const message =
    line.reason === "too_large"
      ? `Message of ${line.bytes} bytes is over this server's limit of ${line.limit} bytes; send less per request.`
      : line.reason === "not_json"
        ? "Parse error: the line is not JSON."
        : "Invalid request: the line is JSON but not a JSON-RPC 2.0 message.";
  return {
    jsonrpc: "2.0",
    id: line.id ?? null,
    error: {
      code: line.reason === "not_json" ? -32700 : -32600,
      message,
      ...(line.reason === "too_large" ? { data: { bytes: line.bytes, limit: line.limit } } : {}),
    },
  };
}

/** The SDK's stdio transports keep their (whole-buffer bounded, closing) reader in `_readBuffer`. */
function replaceReadBuffer(transport: StdioServerTransport, buffer: StdioMessageBuffer): void {
  const target = transport as unknown as { _readBuffer?: unknown };
  if (!("_readBuffer" in target)) {
    throw new Error(
      "The MCP SDK's StdioServerTransport no longer has _readBuffer: update serve.ts.",
    );
  }
  target._readBuffer = buffer;
}

export interface OptimizerHttpServerOptions extends OptimizerServerOptions, HttpAccessOptions {
  /** Interface to listen on; beyond loopback it needs `auth` (or `insecureNoAuth`). Default "127.0.0.1". */
  host?: string;
  /** Port; 0 picks a free one. Default 0. */
  port?: number;
  /** The MCP endpoint's path. Default "/mcp". */
  path?: string;
  /** Largest request body in bytes. Default 4 MiB. */
  maxBodyBytes?: number;
  /**
   * Serve the approvals endpoint (list, approve, reject pending programs) behind its own bearer
   * token (docs/approvals-and-skills.md). Default: off (404).
   */
  approvals?: ApprovalsEndpointOptions;
}

export interface OptimizerHttpServer {
  url: string;
  /** The approvals endpoint's URL, when `approvals` is set. */
  approvalsUrl?: string;
  server: HttpServer;
  /** Live 2025-era sessions (Mcp-Session-Id). */
  readonly legacySessions: number;
  close(): Promise<void>;
}

/**
 * Serves the optimizer over Streamable HTTP on one endpoint: 2026-07-28 clients per request
 * (stateless; conversations pass `session` to execute_code), 2025-era clients with
 * `Mcp-Session-Id` sessions, each mapped to an optimizer session of the same id. Every
 * request passes the Host, Origin and bearer-token checks of `resolveHttpAccess` first
 * (docs/http-security.md).
 */
export async function createOptimizerHttpServer(
  optimizer: MCPOptimizer,
  options: OptimizerHttpServerOptions = {},
): Promise<OptimizerHttpServer> {
  const resolvedAccess = resolveHttpAccess(options.host ?? "127.0.0.1", options);
  const checkAccess = createHttpAccessCheck(resolvedAccess);
  // The approvals endpoint: the same Host and Origin rules, an approver's token instead of the client's.
  const approvalsPath = options.approvals?.path ?? "/approvals";
  const checkApprover =
    options.approvals && createHttpAccessCheck({ ...resolvedAccess, auth: options.approvals.auth });
  // Listen at once; handlers wait for what they need (executions only for the servers they call).
  optimizer.start().catch(() => {});
  const path = options.path ?? "/mcp";
  const maxBody = options.maxBodyBytes ?? 4 * 1024 * 1024;
  // node:http serves HTTP/1.1 over TCP.
  const serverOptions = {
    network: { transport: "tcp", protocolName: "http", protocolVersion: "1.1" } as const,
    ...options,
  };
  const modern = createMcpHandler(() => createOptimizerMcpServer(optimizer, serverOptions), {
    legacy: "reject",
  });
  const legacy = new Map<string, NodeStreamableHTTPServerTransport>();

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (
      checkApprover &&
      (url.pathname === approvalsPath || url.pathname.startsWith(`${approvalsPath}/`))
    ) {
      const approver = await checkApprover(req, res);
      if (!approver.ok) return;
      await handleApprovalsRequest(optimizer, req, res, url, {
        path: approvalsPath,
        tenant: options.approvals!.tenant ?? options.sessionScope?.tenant,
        authInfo: approver.authInfo,
      });
      return;
    }
    const access = await checkAccess(req, res);
    if (!access.ok) return;
    if (url.pathname !== path) {
      res
        .writeHead(404, { "content-type": "application/json" })
        .end(JSON.stringify({ error: `Not found; the MCP endpoint is ${path}` }));
      return;
    }
    const body = req.method === "POST" ? await readBody(req, maxBody) : undefined;
    const parsed =
      body === undefined || body.length === 0 ? undefined : JSON.parse(body.toString("utf8"));
    const sessionHeader = req.headers["mcp-session-id"];
    const sessionId = Array.isArray(sessionHeader) ? sessionHeader[0] : sessionHeader;
    const existing = sessionId ? legacy.get(sessionId) : undefined;
    if (existing) {
      await existing.handleRequest(req, res, parsed);
      return;
    }
    const webRequest = new Request(
      new URL(req.url ?? "/", `http://${req.headers.host ?? "localhost"}`),
      {
        method: req.method ?? "GET",
        headers: toHeaders(req),
        ...(body && body.length > 0 ? { body: new Uint8Array(body) } : {}),
      },
    );
    if (await isLegacyRequest(webRequest.clone())) {
      if (sessionId) {
        res.writeHead(404, { "content-type": "application/json" }).end(
          JSON.stringify({
            jsonrpc: "2.0",
            error: { code: -32001, message: "Session not found" },
            id: null,
          }),
        );
        return;
      }
      const transport: NodeStreamableHTTPServerTransport = new NodeStreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id: string) => {
          legacy.set(id, transport);
        },
      });
      transport.onclose = () => {
        if (transport.sessionId) legacy.delete(transport.sessionId);
      };
      const server = createOptimizerMcpServer(optimizer, {
        ...serverOptions,
        transportSessionId: () => transport.sessionId,
        notifyToolListChanged: true,
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, parsed);
      return;
    }
    const response = await modern.fetch(webRequest, {
      ...(parsed === undefined ? {} : { parsedBody: parsed }),
      ...(access.authInfo ? { authInfo: access.authInfo } : {}),
    });
    await sendResponse(res, response);
  };

  const http = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const status =
        error instanceof OptimizerError && error.code === ErrorCodes.INVALID_INPUT
          ? 413
          : error instanceof SyntaxError
            ? 400
            : 500;
      if (!res.headersSent) {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            jsonrpc: "2.0",
            error: { code: -32700, message: (error as Error).message },
            id: null,
          }),
        );
      } else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = http.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}${path}`,
    ...(checkApprover ? { approvalsUrl: `http://${host}:${address.port}${approvalsPath}` } : {}),
    server: http,
    get legacySessions() {
      return legacy.size;
    },
    async close() {
      await Promise.allSettled([...legacy.values()].map((t) => t.close()));
      legacy.clear();
      await modern.close();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
    },
  };
}

async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max)
      throw new OptimizerError(ErrorCodes.INVALID_INPUT, `Request body over ${max} bytes.`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function toHeaders(req: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [key, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(key, v);
    else headers.set(key, value);
  }
  return headers;
}

async function sendResponse(res: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, key) => {
    headers[key] = value;
  });
  res.writeHead(response.status, headers);
  if (!response.body) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  res.on("close", () => {
    void reader.cancel().catch(() => {});
  });
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    res.write(value);
  }
  res.end();
}
