import type { ApprovalRecord, DryRunCall } from "../../approvals/approval-book.js";
import type { ResolvedApprovalRules } from "../../approvals/approval-policy.js";
import type { EffectPlan } from "../../approvals/effect-plan.js";
import type { SessionRecord } from "../../contracts/session-store.js";
import { ErrorCodes, OptimizerError, toOptimizerError } from "../../errors.js";
import type { EngineParts } from "./engine-parts.js";

/** What the run may call without asking: the host refuses other calls that need approval. */
export interface ApprovalGate {
  rules: ResolvedApprovalRules;
  /** "server.tool" names a person approved (or that needed none when the plan was made). */
  approved: ReadonlySet<string>;
}

/** What the approval step decided. */
export type ApprovalStep =
  /** Run, with the gate (undefined when approvals are off) and the skill versions to use. */
  | {
      kind: "run";
      gate: ApprovalGate | undefined;
      pins: ReadonlyMap<string, number>;
      approvalId?: string;
    }
  /** Do not run: the failure says why (APPROVAL_REQUIRED, APPROVAL_DENIED, ...). */
  | { kind: "refused"; failure: OptimizerError }
  /**
   * Asked for approval; run the program as a dry run for the request's preview, then attach
   * its calls to the approval and answer `failure`.
   */
  | { kind: "preview"; failure: OptimizerError; approval: ApprovalRecord };

export interface ApproveInput {
  plan: EffectPlan;
  session: SessionRecord;
  /** The program's text, as it would run once approved. */
  text: string;
  /** An approval the caller names (a resumed run). */
  approvalId: string | undefined;
  actor: string;
  /** A dry run needs no approval: nothing but read-only tools runs. */
  dryRun: boolean;
}

/**
 * The approval step, between plan and run. With approvals off, or for a dry run, it lets the
 * program run. A plan that reaches tools the tenant's rules ask about runs only under an
 * approval a person gave for exactly this program in this session, used once; without one, a
 * pending approval is recorded and the run is refused with APPROVAL_REQUIRED (nothing ran).
 */
export async function approvePlan(parts: EngineParts, input: ApproveInput): Promise<ApprovalStep> {
  const { approvalBook } = parts;
  const approvals = parts.settings.approvals;
  const pins = new Map(input.plan.skills.map((s) => [s.name, s.version]));
  if (!approvals || !approvalBook || input.dryRun || !parts.features.on("approvals"))
    return { kind: "run", gate: undefined, pins };
  const { session, plan } = input;
  const rules = approvals.rules(session.tenant);
  try {
    if (input.approvalId !== undefined) {
      const record = await parts.timedStore("entry_get", () =>
        approvalBook.get(session.tenant, input.approvalId!),
      );
      const refused = whyNot(record, input);
      if (refused) return { kind: "refused", failure: refused };
      const used = await parts.timedStore("entry_set", () =>
        approvalBook.use(session.tenant, record!.id),
      );
      return {
        kind: "run",
        gate: { rules, approved: new Set(used.plan.approval.tools.concat(previewed(used))) },
        pins: new Map(used.plan.skills.map((s) => [s.name, s.version])),
        approvalId: used.id,
      };
    }
    if (!plan.approval.required) return { kind: "run", gate: { rules, approved: new Set() }, pins };
    const record = await parts.timedStore("entry_set", () =>
      approvalBook.request({
        tenant: session.tenant,
        sessionId: session.id,
        code: input.text,
        plan,
        requestedBy: input.actor,
      }),
    );
    const failure = approvalRequired(record);
    return approvals.preview === "dry-run"
      ? { kind: "preview", failure, approval: record }
      : { kind: "refused", failure };
  } catch (error) {
    return { kind: "refused", failure: toOptimizerError(error) };
  }
}

/** Tools a dry-run preview showed being called (computed names included): approved with the plan. */
function previewed(record: ApprovalRecord): string[] {
  const needing = new Set(record.plan.approval.tools);
  return (record.preview?.calls ?? [])
    .filter((c) => !c.ran && !needing.has(c.tool))
    .map((c) => c.tool);
}

function whyNot(
  record: ApprovalRecord | undefined,
  input: ApproveInput,
): OptimizerError | undefined {
  const id = input.approvalId!;
  const notFound = (why: string) =>
    new OptimizerError(ErrorCodes.APPROVAL_NOT_FOUND, `Approval ${id} ${why}.`, {
      details: { approvalId: id },
    });
  if (!record)
    return notFound(
      `does not exist for this tenant (it expired, or never existed): run the program again to ask anew`,
    );
  if (record.sessionId !== input.session.id)
    return notFound("belongs to another session: resume it in its own session");
  if (record.plan.programHash !== input.plan.programHash)
    return notFound("was given for another program: an approval holds for one program text");
  if (record.status === "pending") return approvalRequired(record, true);
  if (record.status === "rejected") return approvalDenied(record);
  if (record.status === "used")
    return notFound("was used by a run already: run the program again to ask anew");
  return undefined;
}

/** APPROVAL_REQUIRED: what the model reads, with what a person does next. */
export function approvalRequired(record: ApprovalRecord, stillWaiting = false): OptimizerError {
  return new OptimizerError(
    ErrorCodes.APPROVAL_REQUIRED,
    `${stillWaiting ? "Still waiting for a decision. " : ""}${record.plan.summary} Nothing ran: a person must approve ${record.plan.approval.tools.join(", ")} first. Approval id ${record.id} (expires ${record.expiresAt}): ask the user to approve it (mcp-optimizer approvals approve ${record.id}), then run it with the plan id.`,
    {
      details: {
        approvalId: record.id,
        tenant: record.tenant,
        sessionId: record.sessionId,
        tools: record.plan.approval.tools,
        expiresAt: record.expiresAt,
      },
    },
  );
}

export function approvalDenied(record: ApprovalRecord): OptimizerError {
  return new OptimizerError(
    ErrorCodes.APPROVAL_DENIED,
    `A person declined this program${record.decidedBy ? ` (${record.decidedBy})` : ""}${record.reason ? `: ${record.reason}` : ""}. Nothing ran. Do not retry it as is; ask the user what they want instead.`,
    { details: { approvalId: record.id, tools: record.plan.approval.tools } },
  );
}

/**
 * After the preview's dry run: its calls go with the pending approval (a person sees what the
 * program would send), and the run answers APPROVAL_REQUIRED with them.
 */
export async function attachPreview(
  parts: EngineParts,
  step: Extract<ApprovalStep, { kind: "preview" }>,
  calls: DryRunCall[],
  failure: OptimizerError | undefined,
): Promise<OptimizerError> {
  const preview = { calls, ...(failure ? { error: failure.message } : {}) };
  try {
    await parts.timedStore("entry_set", () =>
      parts.approvalBook!.attachPreview(step.approval.tenant, step.approval.id, preview),
    );
  } catch {
    // The approval stands without its preview.
  }
  return new OptimizerError(step.failure.code, step.failure.message, {
    details: { ...step.failure.details, preview },
  });
}
