import { effectiveAnnotations } from "../catalog/tool-catalog.js";
import type { ToolAnnotations } from "../contracts/upstream.js";
import { matches } from "../engine/policy.js";
import { ErrorCodes, OptimizerError } from "../errors.js";

/** Which tools need a person's approval before a program that reaches them runs. */
export interface ApprovalRules {
  /**
   * Tools that ask, by annotation: "destructive" (annotated destructiveHint, which MCP assumes
   * for a tool without annotations), "write" (every tool not annotated read-only), "none".
   * Default "destructive".
   */
  ask?: "destructive" | "write" | "none";
  /** More tools that ask whatever their annotations, by pattern: "github.create_*". Default none. */
  tools?: string[];
  /** Tools that never ask, by pattern; wins over `ask` and `tools`. Default none. */
  exempt?: string[];
}

/** Approvals before side effects (docs/approvals-and-skills.md). */
export interface ApprovalOptions extends ApprovalRules {
  /** Rules of one tenant, each field replacing the one above: { acme: { ask: "write" } }. Default none. */
  tenants?: Record<string, ApprovalRules>;
  /** How long a pending approval waits for a decision, in ms. Default 3600000 (1 h). */
  ttlMs?: number;
  /**
   * What the approval request shows: "plan" (the effect plan) or "dry-run" (the plan and the
   * calls a dry run of the program made, read-only tools having run for real). Default "plan".
   */
  preview?: "plan" | "dry-run";
}

/** The rules of one tenant, resolved. */
export interface ResolvedApprovalRules {
  ask: "destructive" | "write" | "none";
  tools: string[];
  exempt: string[];
}

/** Approvals as the engine reads them; undefined when off. */
export interface ResolvedApprovals {
  rules(tenant: string): ResolvedApprovalRules;
  ttlMs: number;
  preview: "plan" | "dry-run";
}

export const DEFAULT_APPROVAL_TTL_MS = 3_600_000;

const ASK = new Set(["destructive", "write", "none"]);

/** Checks the options once, at construction; INVALID_CONFIG names the field. */
export function resolveApprovals(
  options: ApprovalOptions | false | undefined,
): ResolvedApprovals | undefined {
  if (options === undefined || options === false) return undefined;
  if (typeof options !== "object" || options === null) {
    throw invalid("approvals", "is an object (or false)");
  }
  checkRules(options, "approvals");
  for (const [tenant, rules] of Object.entries(options.tenants ?? {}))
    checkRules(rules, `approvals.tenants.${tenant}`);
  const ttlMs = options.ttlMs ?? DEFAULT_APPROVAL_TTL_MS;
  if (!Number.isInteger(ttlMs) || ttlMs < 1000)
    throw invalid("approvals.ttlMs", `is an integer of at least 1000 ms; got ${ttlMs}`);
  const preview = options.preview ?? "plan";
  if (preview !== "plan" && preview !== "dry-run")
    throw invalid("approvals.preview", `is "plan" or "dry-run"; got ${JSON.stringify(preview)}`);
  const base: ResolvedApprovalRules = {
    ask: options.ask ?? "destructive",
    tools: options.tools ?? [],
    exempt: options.exempt ?? [],
  };
  const tenants = new Map(
    Object.entries(options.tenants ?? {}).map(([tenant, r]) => [
      tenant,
      {
        ask: r.ask ?? base.ask,
        tools: r.tools ?? base.tools,
        exempt: r.exempt ?? base.exempt,
      },
    ]),
  );
  return { rules: (tenant) => tenants.get(tenant) ?? base, ttlMs, preview };
}

function checkRules(rules: ApprovalRules, path: string): void {
  if (rules.ask !== undefined && !ASK.has(rules.ask))
    throw invalid(
      `${path}.ask`,
      `is "destructive", "write" or "none"; got ${JSON.stringify(rules.ask)}`,
    );
  for (const field of ["tools", "exempt"] as const) {
    const list = rules[field];
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.some((p) => typeof p !== "string" || p.length === 0))
      throw invalid(`${path}.${field}`, 'is a list of tool patterns such as "github.create_*"');
  }
}

function invalid(path: string, what: string): OptimizerError {
  return new OptimizerError(ErrorCodes.INVALID_CONFIG, `${path} ${what}.`, {
    details: { setting: path },
  });
}

/** Whether calling this tool needs a person's approval under these rules. */
export function needsApproval(
  rules: ResolvedApprovalRules,
  server: string,
  tool: string,
  annotations: ToolAnnotations | undefined,
): boolean {
  const qualified = `${server}.${tool}`;
  if (rules.exempt.some((p) => matches(p, qualified))) return false;
  if (rules.tools.some((p) => matches(p, qualified))) return true;
  const a = effectiveAnnotations(annotations);
  if (rules.ask === "destructive") return a.destructiveHint;
  if (rules.ask === "write") return !a.readOnlyHint;
  return false;
}
