import { randomUUID } from "node:crypto";
import {
  ProtocolError,
  ProtocolErrorCode,
  ResourceNotFoundError,
  type Server,
} from "@modelcontextprotocol/server";
import type { SearchHit } from "../catalog/tool-catalog.js";
import type { SessionAllowlist } from "../contracts/session-store.js";
import type { MCPOptimizer, RunResult } from "../engine/optimizer.js";
import { ErrorCodes, hasErrorCode, isOptimizerError, OptimizerError } from "../errors.js";
import { featureDisabled } from "../features/feature-flags.js";
import type { JsonObject } from "../json.js";
import {
  approvalAnswer,
  askForApproval,
  assertOwnApproval,
  decideAndResume,
  supportsElicitation,
} from "./approval-flow.js";
import { InstrumentedServer } from "./instrumented-server.js";
import { MetaToolArgumentValidator } from "./meta-tool-arguments.js";
import type { ServerNetwork } from "./server-metrics.js";

export const TYPES_URI_PREFIX = "mcp-optimizer://types/";

/** The tools the server offers (metrics name only these, never a name a client made up). */
const META_TOOL_NAMES = ["execute_code", "search_tools"] as const;

export interface OptimizerServerOptions {
  /** Name and version announced to clients. Default { name: "mcp-optimizer", version: "0.1.0" }. */
  serverInfo?: { name: string; version: string };
  /** Who the audit trail names as the caller. Default "mcp-client". */
  actor?: string;
  /** How clients reach the server, for the metrics' network attributes. Default: left out. */
  network?: ServerNetwork;
  /** Record `mcp.server.operation.duration` and `mcp.server.session.duration`. Default true. */
  metrics?: boolean;
  /** Keep the sessions of one tenant and principal apart from everyone else's (the gateway). Default: ids used as clients name them. */
  sessionScope?: SessionScope;
  /** Whose `context` programs use, when `sessionScope` names no principal. Default: the optimizer's (sessionDefaults.principal). */
  principal?: string;
}

/**
 * Maps the session ids a client names to the ids stored, so that knowing another tenant's or
 * user's id gives nothing: the same name stores under another id, which is "not found".
 */
export interface SessionScope {
  /** The tenant of this server's sessions: new sessions get it, another tenant's are not found. */
  tenant: string;
  /** The principal: whose `context` programs read and write. Default: the server's `principal`. */
  principal?: string;
  /** The stored id for an id the client named (throws INVALID_INPUT for one it cannot map). */
  toStored(clientId: string): string;
  /** The id the client is shown for a stored one. */
  toClient(storedId: string): string;
}

export interface ToolListChangeSource {
  /**
   * Send `notifications/tools/list_changed` when the tool list changes after the client
   * listed it (a server connected late, or changed its tools). For connections that live
   * on: stdio and 2025-era HTTP sessions. Default false.
   */
  notifyToolListChanged?: boolean;
}

export interface ServerSessionSource {
  /** The transport's session: the stdio connection, or `Mcp-Session-Id` on 2025-era HTTP. */
  transportSessionId?: () => string | undefined;
}

/**
 * The model-facing MCP server for one connection (or one request): `execute_code`,
 * `search_tools` and the generated `.d.ts` files as resources. Serve it with
 * `serveOptimizerStdio` or `createOptimizerHttpServer`.
 */
export function createOptimizerMcpServer(
  optimizer: MCPOptimizer,
  options: OptimizerServerOptions & ServerSessionSource & ToolListChangeSource = {},
): Server {
  const server = new InstrumentedServer(
    options.serverInfo ?? { name: "mcp-optimizer", version: "0.1.0" },
    {
      capabilities: {
        tools: options.notifyToolListChanged ? { listChanged: true } : {},
        resources: {},
      },
      instructions:
        "Code mode: call execute_code with a program that uses the connected servers as globals. Discover tools with mcp.search() inside the program (or search_tools) instead of guessing.",
    },
    {
      toolNames: META_TOOL_NAMES,
      ...(options.network ? { network: options.network } : {}),
      ...(options.metrics === false ? { metrics: false } : {}),
    },
  );
  const validator = sharedValidator();
  // The connection's own server (handlers below name a search filter `server`).
  const connection = server;

  const scope = options.sessionScope;
  // The connection's session: what its programs may call is what discovery shows.
  const sessionOf = (ctx: { sessionId?: string }) => {
    const id = ctx.sessionId ?? options.transportSessionId?.();
    return id !== undefined && scope ? scope.toStored(id) : id;
  };

  // The execute_code description names each server and its tool count: it changes as servers connect.
  let listed: string | undefined;
  server.setRequestHandler("tools/list", async () => {
    const { tools } = await optimizer.metaToolDefinitions();
    listed = JSON.stringify(tools);
    return { tools: tools as never };
  });
  if (options.notifyToolListChanged) {
    const stop = optimizer.catalog.onUpdate(() => {
      if (listed === undefined) return;
      void optimizer
        .metaToolDefinitions()
        .then(({ tools }) => {
          const now = JSON.stringify(tools);
          if (listed === undefined || now === listed) return;
          listed = now;
          return server.sendToolListChanged();
        }, noop)
        .catch(noop);
    });
    const previous = server.onclose;
    server.onclose = () => {
      stop();
      previous?.();
    };
  }

  server.setRequestHandler("tools/call", async (request, ctx) => {
    // Protocol errors (-32602) for an unknown tool or arguments that fail the published schema;
    // everything after that is a tool result, failed or not, that the model can read.
    const { tools } = await optimizer.metaToolDefinitions();
    const tool = tools.find((t) => t.name === request.params.name);
    if (!tool) {
      throw new ProtocolError(
        ProtocolErrorCode.InvalidParams,
        `Unknown tool "${request.params.name}": use ${tools.map((t) => t.name).join(" or ")}.`,
        { tool: request.params.name },
      );
    }
    const args = request.params.arguments ?? {};
    validator.assertValid(tool, args);
    try {
      if (request.params.name === "execute_code") {
        const { code, session, plan } = args as { code?: string; session?: string; plan?: string };
        const explicit = session !== undefined && session.length > 0 ? session : undefined;
        const transportSession = ctx.sessionId ?? options.transportSessionId?.();
        const clientId = explicit ?? transportSession;
        const actor = options.actor ?? "mcp-client";
        const principal = scope?.principal ?? options.principal;
        const tenant = {
          ...(scope ? { tenant: scope.tenant } : {}),
          ...(principal !== undefined ? { principal } : {}),
        };
        // A retried call carrying the person's answer to an approval question.
        const answer = approvalAnswer(ctx);
        try {
          let result: RunResult;
          if (answer) {
            await assertOwnApproval(optimizer, answer.id, scope);
            result = await decideAndResume(optimizer, answer, { ...tenant, actor });
          }
          // An approved program, by the id APPROVAL_REQUIRED gave: it runs in its own session.
          else if (plan !== undefined) {
            await assertOwnApproval(optimizer, plan, scope);
            result = await optimizer.resume(plan, { ...tenant, actor });
          } else {
            if (code === undefined)
              throw new OptimizerError(
                ErrorCodes.INVALID_INPUT,
                "execute_code needs `code` (or `plan`: the id of an approved program).",
              );
            // A scoped server names new sessions itself: an unscoped id must never be stored.
            const sessionId = scope ? scope.toStored(clientId ?? randomUUID()) : clientId;
            result = await optimizer.run(code, {
              ...(sessionId ? { sessionId } : {}),
              ...tenant,
              actor,
            });
          }
          return executeResult(result, clientId === undefined, scope);
        } catch (error) {
          // A client that can ask its user does so now; the answer comes back as a retry.
          if (
            !answer &&
            hasErrorCode(error, ErrorCodes.APPROVAL_REQUIRED) &&
            supportsElicitation(connection)
          )
            return askForApproval(error as OptimizerError) as never;
          throw error;
        }
      }
      const { query, detail, limit, server } = args as {
        query: string;
        detail?: "name" | "signature" | "full";
        limit?: number;
        server?: string;
      };
      const sessionId = sessionOf(ctx);
      const hits = await optimizer.search(query, {
        ...(sessionId ? { sessionId } : {}),
        ...(scope ? { tenant: scope.tenant } : {}),
        ...(limit !== undefined ? { limit } : {}),
        ...(detail ? { detail } : {}),
        ...(server !== undefined ? { server } : {}),
      });
      return {
        content: [
          { type: "text" as const, text: await searchListingText(optimizer, hits, detail) },
        ],
      };
    } catch (error) {
      return errorResult(error);
    }
  });

  server.setRequestHandler("resources/list", async (_request, ctx) => {
    await optimizer.start();
    // The discoveryResources flag off: no types tree (search_tools and mcp.search still work).
    if (!optimizer.featureOn("discoveryResources")) return { resources: [] };
    const allow = await optimizer.discoveryAllowlist(sessionOf(ctx));
    const resources = [
      {
        uri: `${TYPES_URI_PREFIX}globals.d.ts`,
        name: "globals.d.ts",
        title: "Sandbox globals: mcp, state, context, console",
        mimeType: "text/typescript",
      },
    ];
    for (const s of optimizer.catalog.visibleServers(allow)) {
      resources.push({
        uri: `${TYPES_URI_PREFIX}${encodeURIComponent(s.name)}.d.ts`,
        name: `${s.name}.d.ts`,
        title: `${s.identifier}: ${s.tools.length} tools`,
        mimeType: "text/typescript",
      });
      for (const t of s.tools) {
        resources.push({
          uri: `${TYPES_URI_PREFIX}${encodeURIComponent(s.name)}/${encodeURIComponent(t.name)}.d.ts`,
          name: `${s.name}/${t.name}.d.ts`,
          title: `${s.identifier}.${t.identifier}`,
          mimeType: "text/typescript",
        });
      }
    }
    return { resources };
  });

  server.setRequestHandler("resources/templates/list", async () => ({
    resourceTemplates: [
      {
        uriTemplate: `${TYPES_URI_PREFIX}{server}.d.ts`,
        name: "server-types",
        title: "TypeScript declarations of one server",
        mimeType: "text/typescript",
      },
      {
        uriTemplate: `${TYPES_URI_PREFIX}{server}/{tool}.d.ts`,
        name: "tool-types",
        title: "TypeScript declaration of one tool",
        mimeType: "text/typescript",
      },
    ],
  }));

  server.setRequestHandler("resources/read", async (request, ctx) => {
    await optimizer.start();
    const uri = request.params.uri;
    const allow = await optimizer.discoveryAllowlist(sessionOf(ctx));
    let text: string;
    try {
      if (!optimizer.featureOn("discoveryResources"))
        throw featureDisabled("discoveryResources", "The types tree");
      text = readTypes(optimizer, uri, allow);
    } catch (error) {
      // A URI outside the types tree, a server or tool that does not exist, or one the session
      // may not see: "not found" as the specification defines it (the SDK answers -32602 with
      // data.uri; see docs/errors.md).
      if (!isOptimizerError(error)) throw error;
      throw new ResourceNotFoundError(uri, `${error.message} List resources to see the tree.`);
    }
    return { contents: [{ uri, mimeType: "text/typescript", text }] };
  });

  return server;
}

/**
 * The `.d.ts` text behind a types URI, showing only what `allow` permits; throws a
 * protocol-visible error for unknown ones.
 */
export function readTypes(optimizer: MCPOptimizer, uri: string, allow?: SessionAllowlist): string {
  if (!uri.startsWith(TYPES_URI_PREFIX) || !uri.endsWith(".d.ts")) {
    throw new OptimizerError(
      ErrorCodes.INVALID_INPUT,
      `Unknown resource ${uri}: the types tree is ${TYPES_URI_PREFIX}<server>[/<tool>].d.ts.`,
    );
  }
  const path = uri.slice(TYPES_URI_PREFIX.length, -".d.ts".length);
  if (path === "globals") return optimizer.catalog.globalTypes(allow);
  let parts: string[];
  try {
    parts = path.split("/").map(decodeURIComponent);
  } catch {
    throw new OptimizerError(ErrorCodes.INVALID_INPUT, `Unknown resource ${uri}: bad escape.`);
  }
  const [server, tool, ...rest] = parts;
  if (!server || rest.length > 0)
    throw new OptimizerError(ErrorCodes.INVALID_INPUT, `Unknown resource ${uri}.`);
  if (tool === undefined) return optimizer.catalog.serverTypes(server, allow);
  return optimizer.catalog.toolTypes(server, tool, allow);
}

function executeResult(result: RunResult, sessionIsNew: boolean, scope?: SessionScope) {
  const sessionId = scope ? scope.toClient(result.sessionId) : result.sessionId;
  const footer = sessionIsNew
    ? `\n\n[session ${sessionId}: pass it as "session" to keep state]`
    : "";
  return {
    content: [{ type: "text" as const, text: `${result.text}${footer}` }],
    _meta: {
      "mcp-optimizer/execution": {
        sessionId,
        executionId: result.executionId,
        durationMs: result.durationMs,
        mode: result.mode,
        truncated: result.truncated,
        toolCalls: result.toolCalls.length,
        tokens: result.tokens,
        ...(result.notes ? { notes: result.notes } : {}),
        ...(result.approvalId ? { approvalId: result.approvalId } : {}),
      },
    },
  };
}

function errorResult(error: unknown) {
  const code = isOptimizerError(error) ? error.code : ErrorCodes.INTERNAL_ERROR;
  const message = error instanceof Error ? error.message : String(error);
  const details = isOptimizerError(error) ? error.details : undefined;
  const logs = Array.isArray(details?.logs)
    ? (details.logs as { level: string; text: string }[])
    : [];
  const logText = logs.length ? `\n\n--- console ---\n${logs.map((l) => l.text).join("\n")}` : "";
  return {
    isError: true,
    content: [
      {
        type: "text" as const,
        text: `${code}: ${message}${logText}${approvalHint(code, details)}`,
      },
    ],
    _meta: {
      "mcp-optimizer/error": {
        code,
        ...(typeof details?.approvalId === "string"
          ? { approvalId: details.approvalId, expiresAt: details.expiresAt }
          : {}),
      },
    },
  };
}

/** What the model does with a pending approval over MCP: resend with the plan id once approved. */
function approvalHint(code: string, details: Record<string, unknown> | undefined): string {
  if (code !== ErrorCodes.APPROVAL_REQUIRED || typeof details?.approvalId !== "string") return "";
  return `\n\nOnce approved, call execute_code with { "plan": "${details.approvalId}" }.`;
}

/**
 * A search listing as the model reads it: the text lines of formatHits, or the same fields as
 * compact JSON or TOON when that costs fewer tokens (the optimizer's resultEncoding decides).
 */
/** What search_tools shows the model for search hits (the benchmark counts it too). */
export async function searchListingText(
  optimizer: MCPOptimizer,
  hits: readonly SearchHit[],
  detail: "name" | "signature" | "full" = "signature",
): Promise<string> {
  const lines = formatHits(hits, detail);
  if (hits.length === 0) return lines;
  const value = hits.map(
    (h): JsonObject =>
      detail === "full"
        ? { declaration: h.declaration ?? h.signature ?? h.call }
        : {
            [detail === "signature" ? "signature" : "call"]:
              detail === "signature" ? (h.signature ?? h.call) : h.call,
            ...(h.description ? { description: h.description } : {}),
          },
  );
  return (await optimizer.encodeForModel(value, lines)).text;
}

/** Search hits as compact text lines: cheaper in tokens than JSON. */
export function formatHits(
  hits: readonly SearchHit[],
  detail: "name" | "signature" | "full",
): string {
  if (hits.length === 0)
    return "No matching tools. Try other words, or list a server's tools with search_tools({ query, server }).";
  if (detail === "full")
    return hits.map((h) => h.declaration ?? h.signature ?? h.call).join("\n\n");
  return hits
    .map((h) => {
      const head = detail === "signature" ? (h.signature ?? h.call) : h.call;
      return h.description ? `${head}\n  ${h.description}` : head;
    })
    .join("\n");
}

function noop(): void {}

/**
 * One validator for every server instance: HTTP serves each request with a fresh server, and
 * compiling the schemas (Ajv) per request cost more than the request itself. It caches by
 * schema, and the meta-tools' schemas are fixed.
 */
let validator: MetaToolArgumentValidator | undefined;
function sharedValidator(): MetaToolArgumentValidator {
  validator ??= new MetaToolArgumentValidator();
  return validator;
}

/** A fresh per-connection id for transports that have no session of their own. */
export function newConnectionSessionId(): string {
  return `conn-${randomUUID()}`;
}
