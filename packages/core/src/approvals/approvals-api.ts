import type { EntryStore } from "../contracts/entry-store.js";
import { ApprovalBook, type ApprovalRecord, type ApprovalStatus } from "./approval-book.js";

export interface ApprovalListOptions {
  /** The tenant whose approvals to list. Default: sessionDefaults.tenant. */
  tenant?: string;
  /** Only approvals in this state. Default: all. */
  status?: ApprovalStatus;
  /** At most this many, pending first, then the newest. Default 100. */
  limit?: number;
}

export interface ApprovalDecisionOptions {
  /** The approval's tenant. Default: sessionDefaults.tenant. */
  tenant?: string;
  /** Who decides, for the record and the audit trail. Default "api". */
  by?: string;
  /** Why (rejections). */
  reason?: string;
}

/** `optimizer.approvals`: what a person (CLI, HTTP endpoint, an app) does with pending programs. */
export interface OptimizerApprovals {
  list(options?: ApprovalListOptions): Promise<ApprovalRecord[]>;
  /** One approval; undefined when there is none (expired, never existed). */
  get(id: string, options?: { tenant?: string }): Promise<ApprovalRecord | undefined>;
  /** Approves a pending program: a run with its id (`resume(id)`, execute_code's `plan`) runs it once. */
  approve(id: string, options?: ApprovalDecisionOptions): Promise<ApprovalRecord>;
  /** Rejects it: a run with its id answers APPROVAL_DENIED. */
  reject(id: string, options?: ApprovalDecisionOptions): Promise<ApprovalRecord>;
}

/** The approvals API over a store's entries, with the tenant default filled in. */
export function approvalsApi(
  book: () => Promise<ApprovalBook>,
  defaultTenant: string,
): OptimizerApprovals {
  return {
    async list(options = {}) {
      return (await book()).list(options.tenant ?? defaultTenant, {
        ...(options.status ? { status: options.status } : {}),
        ...(options.limit !== undefined ? { limit: options.limit } : {}),
      });
    },
    async get(id, options = {}) {
      return (await book()).get(options.tenant ?? defaultTenant, id);
    },
    async approve(id, options = {}) {
      return (await book()).approve(options.tenant ?? defaultTenant, id, {
        by: options.by ?? "api",
      });
    },
    async reject(id, options = {}) {
      return (await book()).reject(options.tenant ?? defaultTenant, id, {
        by: options.by ?? "api",
        ...(options.reason ? { reason: options.reason } : {}),
      });
    },
  };
}

/**
 * Pending approvals of a session store, for tools that open the store themselves (the CLI):
 * `createApprovalBook(store.entries).approve(tenant, id, { by: "cli" })`.
 */
export function createApprovalBook(
  entries: EntryStore,
  options: { ttlMs?: number } = {},
): ApprovalBook {
  return new ApprovalBook(entries, options.ttlMs ?? 3_600_000);
}
