import { randomBytes } from "node:crypto";
import type { EntryStore, StoredEntry } from "../contracts/entry-store.js";
import { ErrorCodes, hasErrorCode, OptimizerError } from "../errors.js";
import type { JsonValue } from "../json.js";
import type { EffectPlan } from "./effect-plan.js";

export type ApprovalStatus = "pending" | "approved" | "rejected" | "used";

/** One call a dry run made (or would have made), as the approval request shows it. */
export interface DryRunCall {
  /** "server.tool". */
  tool: string;
  /** The arguments, redacted of secrets (and tokenized, with privacy on). */
  args: JsonValue;
  /** Whether it ran for real (read-only tools) or was answered with a placeholder. */
  ran: boolean;
}

/**
 * A program waiting for (or given) a person's decision. Kept in the session store's entries
 * (scope `approvals:<tenant>`) with the pending TTL, so it outlives the process that asked and
 * any replica can resume it.
 */
export interface ApprovalRecord {
  /** "ap_" and 16 random characters. */
  id: string;
  tenant: string;
  /** The session the program runs in once approved. */
  sessionId: string;
  status: ApprovalStatus;
  /** The program's text, as it will run. */
  code: string;
  /** The plan the person decides on. */
  plan: EffectPlan;
  /** The calls a dry run made, when the policy previews with one. */
  preview?: { calls: DryRunCall[]; error?: string };
  /** Who ran the program (the audit actor). */
  requestedBy: string;
  createdAt: string;
  /** When the approval lapses if nobody decides (and when its record goes). */
  expiresAt: string;
  decidedBy?: string;
  decidedAt?: string;
  /** Why it was rejected, when the person said. */
  reason?: string;
  /** When the approved program started (an approval runs once). */
  usedAt?: string;
}

export interface ApprovalDecisionInput {
  /** Who decided, for the audit trail: "cli", "http", "elicitation", a user name. */
  by: string;
  /** Why (rejections). */
  reason?: string;
}

const ID = /^ap_[A-Za-z0-9_-]{16}$/;

function scope(tenant: string): string {
  return `approvals:${tenant}`;
}

function notFound(
  id: string,
  tenant: string,
  why = "it expired, or never existed",
): OptimizerError {
  return new OptimizerError(
    ErrorCodes.APPROVAL_NOT_FOUND,
    `No approval "${id}" for tenant "${tenant}": ${why}. Run the program again to ask anew.`,
    { details: { approvalId: id } },
  );
}

/**
 * Pending approvals on any EntryStore: ask, list, approve, reject, and use an approval once
 * (compare-and-set, so two replicas never both run it).
 */
export class ApprovalBook {
  constructor(
    private readonly entries: EntryStore,
    private readonly ttlMs: number,
  ) {}

  /** Records a program waiting for a decision. */
  async request(input: {
    tenant: string;
    sessionId: string;
    code: string;
    plan: EffectPlan;
    requestedBy: string;
  }): Promise<ApprovalRecord> {
    const now = Date.now();
    const record: ApprovalRecord = {
      id: `ap_${randomBytes(12).toString("base64url")}`,
      tenant: input.tenant,
      sessionId: input.sessionId,
      status: "pending",
      code: input.code,
      plan: input.plan,
      requestedBy: input.requestedBy,
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + this.ttlMs).toISOString(),
    };
    await this.entries.set(scope(input.tenant), record.id, record as unknown as JsonValue, {
      ttlMs: this.ttlMs,
      expectedVersion: 0,
    });
    return record;
  }

  async get(tenant: string, id: string): Promise<ApprovalRecord | undefined> {
    return (await this.entry(tenant, id))?.record;
  }

  /** The tenant's approvals (pending first, then the newest), at most `limit`. */
  async list(
    tenant: string,
    options: { status?: ApprovalStatus; limit?: number } = {},
  ): Promise<ApprovalRecord[]> {
    const limit = options.limit ?? 100;
    const out: ApprovalRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.entries.list(scope(tenant), {
        limit: 1000,
        ...(cursor ? { cursor } : {}),
      });
      for (const e of page.entries) {
        const record = e.value as unknown as ApprovalRecord;
        if (!options.status || record.status === options.status) out.push(record);
      }
      cursor = page.cursor;
    } while (cursor);
    const rank = (r: ApprovalRecord) => (r.status === "pending" ? 0 : 1);
    return out
      .sort((a, b) => rank(a) - rank(b) || (a.createdAt < b.createdAt ? 1 : -1))
      .slice(0, limit);
  }

  /** Approves a pending program; approving an approved one again changes nothing. */
  async approve(
    tenant: string,
    id: string,
    decision: ApprovalDecisionInput,
  ): Promise<ApprovalRecord> {
    return this.decide(tenant, id, "approved", decision);
  }

  /** Rejects a pending program: a run with its id answers APPROVAL_DENIED. */
  async reject(
    tenant: string,
    id: string,
    decision: ApprovalDecisionInput,
  ): Promise<ApprovalRecord> {
    return this.decide(tenant, id, "rejected", decision);
  }

  /** Adds what a dry run showed to a pending approval. */
  async attachPreview(
    tenant: string,
    id: string,
    preview: NonNullable<ApprovalRecord["preview"]>,
  ): Promise<ApprovalRecord> {
    return this.change(tenant, id, (r) => ({ ...r, preview }));
  }

  /**
   * Marks an approved program as started, exactly once across every process sharing the
   * store: APPROVAL_NOT_FOUND for one already used.
   */
  async use(tenant: string, id: string): Promise<ApprovalRecord> {
    return this.change(tenant, id, (r) => {
      if (r.status === "used") throw notFound(id, tenant, "it was already used by a run");
      return { ...r, status: "used", usedAt: new Date().toISOString() };
    });
  }

  private async decide(
    tenant: string,
    id: string,
    status: "approved" | "rejected",
    decision: ApprovalDecisionInput,
  ): Promise<ApprovalRecord> {
    if (typeof decision.by !== "string" || decision.by.length === 0) {
      throw new OptimizerError(ErrorCodes.INVALID_INPUT, "A decision names who made it (by).");
    }
    return this.change(tenant, id, (r) => {
      if (r.status === status) return undefined;
      if (r.status !== "pending") {
        throw new OptimizerError(
          ErrorCodes.INVALID_INPUT,
          `Approval ${id} was already ${r.status}${r.decidedBy ? ` by ${r.decidedBy}` : ""}; a decision is final.`,
          { details: { approvalId: id, status: r.status } },
        );
      }
      return {
        ...r,
        status,
        decidedBy: decision.by,
        decidedAt: new Date().toISOString(),
        ...(decision.reason ? { reason: decision.reason.slice(0, 500) } : {}),
      };
    });
  }

  /** Read, change, compare-and-set; re-read on a lost race. `undefined` from `next`: no change. */
  private async change(
    tenant: string,
    id: string,
    next: (record: ApprovalRecord) => ApprovalRecord | undefined,
  ): Promise<ApprovalRecord> {
    for (let attempt = 0; ; attempt++) {
      const found = await this.entry(tenant, id);
      if (!found) throw notFound(id, tenant);
      const changed = next(found.record);
      if (!changed) return found.record;
      try {
        await this.entries.set(scope(tenant), id, changed as unknown as JsonValue, {
          expectedVersion: found.entry.version,
        });
        return changed;
      } catch (error) {
        if (!hasErrorCode(error, ErrorCodes.ENTRY_CONFLICT) || attempt >= 4) throw error;
      }
    }
  }

  private async entry(
    tenant: string,
    id: string,
  ): Promise<{ entry: StoredEntry; record: ApprovalRecord } | undefined> {
    if (typeof id !== "string" || !ID.test(id)) {
      throw new OptimizerError(
        ErrorCodes.INVALID_INPUT,
        `An approval id is "ap_" and 16 letters, digits, _ or -; got ${JSON.stringify(id)?.slice(0, 40)}.`,
      );
    }
    const entry = await this.entries.get(scope(tenant), id);
    return entry ? { entry, record: entry.value as unknown as ApprovalRecord } : undefined;
  }
}
