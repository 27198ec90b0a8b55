import {
  type InputRequiredResult,
  inputRequired,
  inputResponse,
  type Server,
  type ServerContext,
} from "@modelcontextprotocol/server";
import type { ApprovalRecord, DryRunCall } from "../approvals/approval-book.js";
import type { MCPOptimizer, RunResult } from "../engine/optimizer.js";
import { ErrorCodes, OptimizerError } from "../errors.js";

/** The key of the approval question in an `input_required` result and its answer. */
const QUESTION = "approval";
/** Calls of a dry-run preview shown in the question. */
const PREVIEW_CALLS = 10;

/** The approval a retried execute_code carries the person's answer to. */
export interface ApprovalAnswer {
  id: string;
  approved: boolean;
}

/**
 * Whether the client can ask its user (MCP elicitation, form mode). On 2025-era connections the
 * SDK reads the `initialize` capabilities; on the 2026-07-28 era, the request's own envelope.
 */
export function supportsElicitation(server: Server): boolean {
  const elicitation = server.getClientCapabilities()?.elicitation as
    | Record<string, unknown>
    | undefined;
  if (!elicitation) return false;
  // An empty object means form mode (the capability from before modes existed).
  return Object.keys(elicitation).length === 0 || elicitation.form !== undefined;
}

/**
 * The question for the person, as an `input_required` result: the client asks its user
 * (`elicitation/create`) and calls execute_code again with the answer; the 2025-era shim of the
 * SDK does the same over a server-to-client request. The approval's id rides in `requestState`.
 */
export function askForApproval(error: OptimizerError): InputRequiredResult {
  const details = error.details ?? {};
  const id = String(details.approvalId);
  const preview = (details.preview as { calls?: DryRunCall[] } | undefined)?.calls ?? [];
  const plan = details.plan as { summary?: string } | undefined;
  const lines = [plan?.summary ?? error.message];
  if (preview.length > 0) {
    lines.push(
      "A dry run of it would call:",
      ...preview
        .slice(0, PREVIEW_CALLS)
        .map((c) => `- ${c.tool}(${JSON.stringify(c.args).slice(0, 200)})${c.ran ? "" : ""}`),
    );
    if (preview.length > PREVIEW_CALLS)
      lines.push(`... and ${preview.length - PREVIEW_CALLS} more calls.`);
  }
  lines.push("Approve?");
  return inputRequired({
    inputRequests: {
      [QUESTION]: inputRequired.elicit({
        message: lines.join("\n"),
        requestedSchema: {
          type: "object",
          properties: {
            approve: {
              type: "boolean",
              title: "Approve",
              description: "Run this program as planned.",
              default: true,
            },
          },
          required: ["approve"],
        },
      }),
    },
    requestState: id,
  });
}

/** The person's answer a retried call carries, if it carries one. */
export function approvalAnswer(ctx: ServerContext): ApprovalAnswer | undefined {
  const id = ctx.mcpReq.requestState<unknown>();
  if (typeof id !== "string" || !id.startsWith("ap_")) return undefined;
  const answer = inputResponse(ctx.mcpReq.inputResponses, QUESTION);
  if (answer.kind !== "elicit") return { id, approved: false };
  return { id, approved: answer.action === "accept" && answer.content?.approve !== false };
}

/**
 * Refuses an approval of a session outside the server's scope (another principal's, on the
 * gateway): its id names nothing here. Without a scope, every session of the tenant is the
 * caller's.
 */
export async function assertOwnApproval(
  optimizer: MCPOptimizer,
  id: string,
  scope: { tenant: string; toStored(id: string): string; toClient(id: string): string } | undefined,
): Promise<void> {
  if (!scope) return;
  const record = await optimizer.approvals.get(id, { tenant: scope.tenant });
  if (!record) return; // the run says why it is not found
  let own = false;
  try {
    own = scope.toStored(scope.toClient(record.sessionId)) === record.sessionId;
  } catch {
    own = false;
  }
  if (!own)
    throw new OptimizerError(
      ErrorCodes.APPROVAL_NOT_FOUND,
      `No approval "${id}" for this caller: run the program again to ask anew.`,
      { details: { approvalId: id } },
    );
}

/**
 * Records the person's answer and runs the program (approved), or answers APPROVAL_DENIED
 * through the engine (declined), so that either is in the session log and the audit trail.
 */
export async function decideAndResume(
  optimizer: MCPOptimizer,
  answer: ApprovalAnswer,
  options: { tenant?: string; principal?: string; actor: string },
): Promise<RunResult> {
  const tenant = options.tenant !== undefined ? { tenant: options.tenant } : {};
  const record: ApprovalRecord | undefined = await optimizer.approvals.get(answer.id, tenant);
  if (record?.status === "pending") {
    if (answer.approved)
      await optimizer.approvals.approve(answer.id, { ...tenant, by: "elicitation" });
    else
      await optimizer.approvals.reject(answer.id, {
        ...tenant,
        by: "elicitation",
        reason: "declined in the client",
      });
  }
  return optimizer.resume(answer.id, {
    ...tenant,
    ...(options.principal !== undefined ? { principal: options.principal } : {}),
    actor: options.actor,
  });
}
