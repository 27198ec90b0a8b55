import { AsyncLocalStorage } from "node:async_hooks";
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  createOptimizerMcpServer,
  ErrorCodes,
  hasErrorCode,
  type ServerNetwork,
} from "@mcp-optimizer/core";
import {
  NodeStreamableHTTPServerTransport,
  toNodeHandler,
  toWebRequest,
} from "@modelcontextprotocol/node";
import { type AuthInfo, createMcpHandler, isLegacyRequest } from "@modelcontextprotocol/server";
import type { GatewayIdentity } from "../auth/identity.js";
import { gatewayMetrics } from "../gateway-metrics.js";
import type { McpSessionRegistry } from "../mcp-sessions/mcp-session-registry.js";
import type { QuotaLimiter, QuotaRefusal } from "../quotas/quota-limiter.js";
import type { GatewayEventStore } from "../streams/event-store.js";
import { createStreamRecorder } from "../streams/stream-recorder.js";
import { createSessionScope } from "../tenants/session-scope.js";
import type { TenantRuntime, TenantRuntimes } from "../tenants/tenant-runtimes.js";
import { readJsonBody, sendJson, untilClosed } from "./http-io.js";
import { resumeStream } from "./resume-stream.js";

export interface McpEndpointOptions {
  tenants: TenantRuntimes;
  limiter: QuotaLimiter;
  /** The 2025-era MCP sessions, shared by the replicas. */
  mcpSessions: McpSessionRegistry;
  /** How clients reach the gateway, for the MCP server metrics. */
  network: ServerNetwork;
  /** Largest request body in bytes. */
  maxBodyBytes: number;
  /** Resumable streams for 2025-era sessions; undefined: every response is one JSON body. */
  streams?: {
    store: GatewayEventStore;
    /** The running replica's lease on a stream, in ms. */
    leaseMs: number;
    /** How soon a client reconnects to a stream that ended before its response, in ms. */
    retryMs?: number;
    /** Hears failures to store an event (the client then misses it). */
    onError: (error: unknown) => void;
  };
}

/** What one request's MCP server is built from (read by the per-request server factory). */
interface RequestContext {
  runtime: TenantRuntime;
  identity: GatewayIdentity;
  /** The 2025-era MCP session (Mcp-Session-Id), which is the default optimizer session. */
  mcpSessionId: string | undefined;
}

/**
 * The MCP endpoint (Streamable HTTP), stateless in this process: 2026-07-28 clients are served
 * per request by the SDK's handler; 2025-era clients get an `Mcp-Session-Id` that lives in the
 * registry (Redis), so any replica serves their next request. A 2025-era session's request
 * whose client accepts SSE is answered on a resumable stream (ADR 0027): its events go to the
 * shared event store with ids, the execution goes on when the client drops, and a `GET` with
 * `Last-Event-ID` on any replica replays and follows it. Otherwise the response is one JSON
 * body. An execute_code call first passes the tenant's quotas (429 with Retry-After when one
 * refuses, before anything runs).
 */
export function createMcpEndpoint(options: McpEndpointOptions) {
  const context = new AsyncLocalStorage<RequestContext>();
  const serverFor = (ctx: RequestContext) =>
    createOptimizerMcpServer(ctx.runtime.optimizer, {
      network: options.network,
      actor: ctx.identity.principal,
      sessionScope: createSessionScope(ctx.identity.tenant, ctx.identity.principal),
      transportSessionId: () => ctx.mcpSessionId,
    });
  const modern = createMcpHandler(() => serverFor(context.getStore()!), {
    legacy: "reject",
    // One JSON body: the server emits no message before its result, so "auto" never streams.
    responseMode: "auto",
  });
  const modernNode = toNodeHandler(modern, { maxRequestBodySize: options.maxBodyBytes });

  async function serveLegacy(
    req: IncomingMessage & { auth?: AuthInfo },
    res: ServerResponse,
    parsed: unknown,
    ctx: RequestContext,
  ): Promise<void> {
    const streams = options.streams;
    const recorder =
      streams && ctx.mcpSessionId !== undefined && acceptsSse(req) && !isInitialize(parsed)
        ? createStreamRecorder({
            store: streams.store,
            session: ctx.mcpSessionId,
            requestIds: requestIdsOf(parsed),
            leaseMs: streams.leaseMs,
            onError: streams.onError,
          })
        : undefined;
    // The SDK's own transport, stateless here: the session lives in the registry, and the
    // stream's events in the event store, not in it.
    const transport = new NodeStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      ...(recorder
        ? {
            eventStore: recorder.eventStore,
            ...(streams?.retryMs !== undefined ? { retryInterval: streams.retryMs } : {}),
          }
        : { enableJsonResponse: true }),
    });
    const server = serverFor(ctx);
    await server.connect(transport);
    try {
      await transport.handleRequest(req, res, parsed);
      // A stream goes on being stored after its client left, until the last response.
      // (An SSE answer is a 200; the transport's refusals are not. Its headers are written with
      // writeHead, so the status is what tells.)
      if (recorder && res.statusCode === 200 && requestIdsOf(parsed).length > 0)
        await recorder.done;
      await untilClosed(res);
    } finally {
      recorder?.stop();
      await Promise.allSettled([transport.close(), server.close()]);
    }
  }

  /** GET: with `Last-Event-ID` and the session's id, resumes a stream; there is no standalone stream. */
  async function resume(
    req: IncomingMessage,
    res: ServerResponse,
    identity: GatewayIdentity,
    sessionId: string | undefined,
  ): Promise<void> {
    const lastEventId = headerOf(req, "last-event-id");
    if (!options.streams || lastEventId === undefined || sessionId === undefined) {
      res.setHeader("allow", "GET, POST, DELETE");
      sendJson(
        res,
        405,
        rpcError(
          null,
          -32000,
          "Method not allowed: POST MCP messages here; GET only resumes a stream (Last-Event-ID and Mcp-Session-Id).",
        ),
      );
      return;
    }
    if (!(await options.mcpSessions.check(sessionId, identity))) {
      sendJson(res, 404, rpcError(null, -32001, "Session not found"));
      return;
    }
    if (!acceptsSse(req)) {
      sendJson(
        res,
        406,
        rpcError(null, -32000, "Not Acceptable: GET must accept text/event-stream."),
      );
      return;
    }
    await resumeStream(res, { store: options.streams.store, session: sessionId, lastEventId });
  }

  return {
    async handle(
      req: IncomingMessage & { auth?: AuthInfo },
      res: ServerResponse,
      identity: GatewayIdentity,
    ): Promise<void> {
      gatewayMetrics.request(identity.tenant);
      const sessionHeader = headerOf(req, "mcp-session-id");
      if (req.method === "DELETE") {
        await endSession(req, res, identity, sessionHeader);
        return;
      }
      if (req.method === "GET") {
        await resume(req, res, identity, sessionHeader);
        return;
      }
      if (req.method !== "POST") {
        res.setHeader("allow", "GET, POST, DELETE");
        sendJson(res, 405, rpcError(null, -32000, "Method not allowed: POST MCP messages here."));
        return;
      }
      const parsed = await readJsonBody(req, res, options.maxBodyBytes);
      if (parsed === undefined) return;
      const legacy = await isLegacyRequest(await toWebRequest(req, parsed), parsed);
      let mcpSessionId: string | undefined;
      if (legacy && sessionHeader !== undefined) {
        if (!(await options.mcpSessions.check(sessionHeader, identity))) {
          sendJson(res, 404, rpcError(idOf(parsed), -32001, "Session not found"));
          return;
        }
        mcpSessionId = sessionHeader;
      } else if (legacy && isInitialize(parsed)) {
        mcpSessionId = await options.mcpSessions.open(identity);
        res.setHeader("mcp-session-id", mcpSessionId);
      }

      const held = options.tenants.acquire(identity.tenant);
      try {
        const executions = countExecutions(parsed);
        let releaseSlots = async () => {};
        if (executions > 0) {
          const decision = await options.limiter.admit(
            identity.tenant,
            held.runtime.quotas,
            executions,
          );
          if (!decision.ok) {
            gatewayMetrics.refused(identity.tenant, decision.refusal.quota);
            refuseForQuota(res, parsed, identity.tenant, decision.refusal);
            return;
          }
          releaseSlots = decision.release;
        }
        try {
          const ctx: RequestContext = { runtime: held.runtime, identity, mcpSessionId };
          if (legacy) await serveLegacy(req, res, parsed, ctx);
          else {
            await context.run(ctx, () => modernNode(req, res, parsed));
            await untilClosed(res);
          }
        } finally {
          await releaseSlots().catch(() => {});
        }
      } finally {
        held.release();
      }
    },

    async close(): Promise<void> {
      await modern.close();
    },
  };

  /** DELETE with Mcp-Session-Id ends the 2025-era session and deletes its optimizer session. */
  async function endSession(
    _req: IncomingMessage,
    res: ServerResponse,
    identity: GatewayIdentity,
    sessionId: string | undefined,
  ): Promise<void> {
    if (sessionId === undefined) {
      sendJson(res, 400, rpcError(null, -32000, "DELETE needs the Mcp-Session-Id to end."));
      return;
    }
    if (!(await options.mcpSessions.close(sessionId, identity))) {
      sendJson(res, 404, rpcError(null, -32001, "Session not found"));
      return;
    }
    const held = options.tenants.acquire(identity.tenant);
    try {
      const scope = createSessionScope(identity.tenant, identity.principal);
      await held.runtime.optimizer.deleteSession(scope.toStored(sessionId)).catch((error) => {
        if (!hasErrorCode(error, ErrorCodes.SESSION_NOT_FOUND)) throw error;
      });
    } finally {
      held.release();
    }
    res.writeHead(200).end();
  }
}

/** 429 with Retry-After and a JSON-RPC error whose data carries the typed code. */
function refuseForQuota(
  res: ServerResponse,
  parsed: unknown,
  tenant: string,
  refusal: QuotaRefusal,
): void {
  const what = {
    executionsPerMinute: `executions started in the last minute reached the limit of ${refusal.limit}`,
    executionsInFlight: `executions running at once reached the limit of ${refusal.limit}`,
    tokensPerDay: `tokens used today (UTC) reached the limit of ${refusal.limit}`,
  }[refusal.quota];
  const message = `${ErrorCodes.QUOTA_EXCEEDED}: tenant "${tenant}": ${what} (${refusal.quota}); nothing ran. Retry in ${refusal.retryAfterSeconds} s.`;
  res.setHeader("retry-after", String(refusal.retryAfterSeconds));
  sendJson(
    res,
    429,
    rpcError(idOf(parsed), -32000, message, {
      code: ErrorCodes.QUOTA_EXCEEDED,
      tenant,
      quota: refusal.quota,
      limit: refusal.limit,
      retryAfterSeconds: refusal.retryAfterSeconds,
    }),
  );
}

function rpcError(id: unknown, code: number, message: string, data?: Record<string, unknown>) {
  return { jsonrpc: "2.0", id: id ?? null, error: { code, message, ...(data ? { data } : {}) } };
}

function messagesOf(parsed: unknown): Record<string, unknown>[] {
  const list = Array.isArray(parsed) ? parsed : [parsed];
  return list.filter((m): m is Record<string, unknown> => typeof m === "object" && m !== null);
}

/** The execute_code calls in a body (what the quotas count). */
function countExecutions(parsed: unknown): number {
  return messagesOf(parsed).filter(
    (m) =>
      m.method === "tools/call" &&
      (m.params as { name?: unknown } | undefined)?.name === "execute_code",
  ).length;
}

/** The ids of the requests in a body (what a stream waits to answer). */
function requestIdsOf(parsed: unknown): (string | number)[] {
  return messagesOf(parsed)
    .filter(
      (m) => typeof m.method === "string" && (typeof m.id === "string" || typeof m.id === "number"),
    )
    .map((m) => m.id as string | number);
}

function acceptsSse(req: IncomingMessage): boolean {
  return (headerOf(req, "accept") ?? "").includes("text/event-stream");
}

function isInitialize(parsed: unknown): boolean {
  return messagesOf(parsed).some((m) => m.method === "initialize");
}

function idOf(parsed: unknown): unknown {
  const first = messagesOf(parsed)[0];
  return first && "id" in first ? first.id : null;
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
