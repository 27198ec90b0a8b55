import {
  createServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { createHttpAccessCheck, type ResolvedHttpAccess } from "@mcp-optimizer/core";
import type { AuthInfo } from "@modelcontextprotocol/server";
import { type GatewayIdentity, identityOf } from "../auth/identity.js";
import type { ProtectedResourceMetadata } from "../auth/protected-resource-metadata.js";
import { gatewayMetrics } from "../gateway-metrics.js";
import { sendJson } from "./http-io.js";
import type { Readiness } from "./readiness.js";
import { SESSIONS_PATH } from "./sessions-api.js";

type Handler = (
  req: IncomingMessage & { auth?: AuthInfo },
  res: ServerResponse,
  identity: GatewayIdentity,
  rest: string,
) => Promise<void>;

export interface GatewayServerOptions {
  host: string;
  port: number;
  /** The MCP endpoint's path. */
  path: string;
  /** Host, Origin and bearer checks (core's, ADR 0012). */
  access: ResolvedHttpAccess;
  /** Who a request acts for when no authentication is configured. */
  anonymous: GatewayIdentity | undefined;
  metadata: ProtectedResourceMetadata | undefined;
  readiness: () => Promise<Readiness>;
  mcp: Handler;
  sessions: Handler;
  /** Hears failures that reached the top (answered 500). */
  onError: (error: unknown) => void;
}

export interface GatewayServer {
  url: string;
  server: HttpServer;
  /** Requests being served now. */
  readonly inFlight: number;
  readonly draining: boolean;
  /**
   * Answers 503 on readiness at once and goes on serving for `graceMs` (so that the load
   * balancer stops sending before the port closes: a connection queued on a port that closes
   * is reset after its request was sent, which no balancer can retry safely), then stops
   * taking connections, lets requests in flight finish until `deadlineMs` (counted from the
   * start), and closes every connection. Resolves true when all finished.
   */
  drain(deadlineMs: number, graceMs?: number): Promise<boolean>;
}

/**
 * The replica's HTTP server: `/healthz` (alive), `/readyz` (should get traffic), the
 * Protected Resource Metadata (RFC 9728) when OAuth is configured, and behind the access
 * checks (Host, Origin, bearer token; 401 challenges point to the metadata) the MCP endpoint
 * and the sessions API.
 */
export async function startGatewayServer(options: GatewayServerOptions): Promise<GatewayServer> {
  const checkAccess = createHttpAccessCheck(options.access);
  let inFlight = 0;
  let draining = false;
  const idle: (() => void)[] = [];

  const route = async (req: IncomingMessage & { auth?: AuthInfo }, res: ServerResponse) => {
    const { pathname } = new URL(req.url ?? "/", "http://gateway");
    // Alive; how many other requests it serves now (what a drain waits for).
    if (pathname === "/healthz")
      return sendJson(res, 200, { status: draining ? "draining" : "ok", inFlight: inFlight - 1 });
    if (pathname === "/readyz") {
      const readiness = await options.readiness();
      return sendJson(res, readiness.ready ? 200 : 503, readiness);
    }
    if (options.metadata?.paths.includes(pathname)) {
      return sendJson(res, 200, options.metadata.document, {
        "access-control-allow-origin": "*",
        "cache-control": "max-age=300",
      });
    }
    const access = await checkAccess(req, res);
    if (!access.ok) {
      gatewayMetrics.authFailed(res.statusCode);
      return;
    }
    const identity = access.authInfo ? identityOf(access.authInfo) : options.anonymous;
    if (!identity) throw new Error("The verifier accepted a token without naming a tenant.");
    if (access.authInfo) req.auth = access.authInfo;
    if (pathname === options.path) return options.mcp(req, res, identity, "");
    if (pathname === SESSIONS_PATH || pathname.startsWith(`${SESSIONS_PATH}/`)) {
      return options.sessions(req, res, identity, pathname.slice(SESSIONS_PATH.length));
    }
    sendJson(res, 404, { error: `Not found; the MCP endpoint is ${options.path}` });
  };

  const http = createServer((req, res) => {
    inFlight++;
    // A request that arrives while draining is served, and its connection not kept.
    if (draining) res.setHeader("connection", "close");
    route(req, res)
      .catch((error: unknown) => {
        options.onError(error);
        sendJson(res, 500, {
          jsonrpc: "2.0",
          id: null,
          error: { code: -32603, message: "Internal error in the gateway." },
        });
      })
      .finally(() => {
        inFlight--;
        if (inFlight === 0) for (const wake of idle.splice(0)) wake();
      });
  });
  // Keep-alive longer than the load balancer's, so that it never reuses a connection we closed.
  http.keepAliveTimeout = 65_000;
  http.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(options.port, options.host, () => resolve());
  });
  const address = http.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}${options.path}`,
    server: http,
    get inFlight() {
      return inFlight;
    },
    get draining() {
      return draining;
    },
    async drain(deadlineMs: number, graceMs = 0): Promise<boolean> {
      const started = Date.now();
      draining = true;
      if (graceMs > 0) await new Promise((r) => setTimeout(r, Math.min(graceMs, deadlineMs)));
      // Stop accepting; idle keep-alive connections are closed, busy ones after their response.
      const closed = new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeIdleConnections();
      const finished =
        inFlight === 0
          ? Promise.resolve(true)
          : new Promise<boolean>((resolve) => idle.push(() => resolve(true)));
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), Math.max(0, deadlineMs - (Date.now() - started)));
      });
      const all = await Promise.race([finished, timedOut]);
      clearTimeout(timer);
      http.closeAllConnections();
      await closed;
      return all;
    },
  };
}
