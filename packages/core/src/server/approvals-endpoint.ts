import type { IncomingMessage, ServerResponse } from "node:http";
import type { AuthInfo, BearerAuthOptions } from "@modelcontextprotocol/server";
import type { ApprovalStatus } from "../approvals/approval-book.js";
import type { MCPOptimizer } from "../engine/optimizer.js";
import { ErrorCodes, isOptimizerError } from "../errors.js";

export interface ApprovalsEndpointOptions {
  /**
   * Who may decide: `Authorization: Bearer <token>` checked by this verifier. Use a token the MCP
   * client does not hold, so that nothing a model can reach approves its own programs. Required.
   */
  auth: BearerAuthOptions;
  /** The endpoint's path. Default "/approvals". */
  path?: string;
  /** The tenant whose approvals it serves. Default: the server's session scope's, else sessionDefaults.tenant. */
  tenant?: string;
}

const STATUSES = new Set(["pending", "approved", "rejected", "used"]);

/**
 * The approvals endpoint of the HTTP server, for a person (or their tool) deciding:
 * `GET {path}?status=pending`, `GET {path}/{id}`, `POST {path}/{id}/approve`,
 * `POST {path}/{id}/reject` with an optional JSON body `{ "reason": "..." }`. Answers JSON; a
 * failure is `{ error: { code, message } }` with 400, 404 or 409.
 */
export async function handleApprovalsRequest(
  optimizer: MCPOptimizer,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  options: { path: string; tenant: string | undefined; authInfo: AuthInfo | undefined },
): Promise<void> {
  const send = (status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
    res.end(JSON.stringify(body));
  };
  const tenant = options.tenant !== undefined ? { tenant: options.tenant } : {};
  const rest = url.pathname.slice(options.path.length).split("/").filter(Boolean);
  const by = `http:${options.authInfo?.clientId ?? "approver"}`;
  try {
    if (rest.length === 0 && req.method === "GET") {
      const status = url.searchParams.get("status");
      if (status !== null && !STATUSES.has(status))
        return send(400, {
          error: {
            code: ErrorCodes.INVALID_INPUT,
            message: "status is pending, approved, rejected or used.",
          },
        });
      const approvals = await optimizer.approvals.list({
        ...tenant,
        ...(status ? { status: status as ApprovalStatus } : {}),
      });
      return send(200, { approvals: approvals });
    }
    const [id, action] = rest;
    if (id !== undefined && rest.length === 1 && req.method === "GET") {
      const record = await optimizer.approvals.get(id, tenant);
      if (!record)
        return send(404, {
          error: { code: ErrorCodes.APPROVAL_NOT_FOUND, message: `No approval "${id}".` },
        });
      return send(200, record);
    }
    if (
      id !== undefined &&
      rest.length === 2 &&
      req.method === "POST" &&
      (action === "approve" || action === "reject")
    ) {
      const body = await readJson(req);
      const reason = typeof body.reason === "string" ? body.reason : undefined;
      const record =
        action === "approve"
          ? await optimizer.approvals.approve(id, { ...tenant, by })
          : await optimizer.approvals.reject(id, {
              ...tenant,
              by,
              ...(reason ? { reason } : {}),
            });
      return send(200, record);
    }
    res.setHeader("allow", rest.length === 2 ? "POST" : "GET");
    return send(405, {
      error: {
        code: ErrorCodes.INVALID_INPUT,
        message: `${req.method} ${url.pathname}: use GET ${options.path}, GET ${options.path}/ID, POST ${options.path}/ID/approve or POST ${options.path}/ID/reject.`,
      },
    });
  } catch (error) {
    if (!isOptimizerError(error)) throw error;
    const status =
      error.code === ErrorCodes.APPROVAL_NOT_FOUND
        ? 404
        : error.details?.status !== undefined
          ? 409
          : 400;
    return send(status, { error: { code: error.code, message: error.message } });
  }
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 64 * 1024) return {};
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  try {
    const parsed = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    return parsed && typeof parsed === "object" ? parsed : {};
  } catch {
    return {};
  }
}
