import type { OperationDefinition } from "@mcp-optimizer/core";
import * as z from "zod";
import {
  issueDigestProgram,
  releaseHealthProgram,
  triageProgram,
  updateIssueProgram,
} from "./programs.js";

const slug = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/, "a Sentry slug: letters, digits, _ . - (1-100)");
const issueId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/, "an issue short ID (PROJECT-1A) or numeric ID");

export const TriageParams = z.strictObject({
  /** Organization slug. */
  organization: slug,
  /** Project slug or numeric ID. */
  project: slug,
  /** Time window of activity; what the Sentry MCP server accepts. */
  period: z.enum(["24h", "7d", "14d", "30d", "90d"]).default("14d"),
  /** How many issues, most frequent first. */
  limit: z.number().int().min(1).max(25).default(10),
});
export type TriageParams = z.input<typeof TriageParams>;

export const IssueDigestParams = z.strictObject({
  organization: slug,
  issueId,
  /** In-app frames to return, innermost first. */
  frames: z.number().int().min(1).max(20).default(5),
});
export type IssueDigestParams = z.input<typeof IssueDigestParams>;

export const ReleaseHealthParams = z.strictObject({
  organization: slug,
  project: slug,
  /** Exact release version; default the project's latest. */
  release: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[^\s/\\]+$/, "a release version without spaces or slashes")
    .optional(),
  /** Most frequent unresolved issues of the release to list. */
  topIssues: z.number().int().min(0).max(25).default(5),
});
export type ReleaseHealthParams = z.input<typeof ReleaseHealthParams>;

export const ResolveIssueParams = z.strictObject({ organization: slug, issueId });
export type ResolveIssueParams = z.input<typeof ResolveIssueParams>;

export const AssignIssueParams = z.strictObject({
  organization: slug,
  issueId,
  /** `user:ID`, `team:ID`, a username or an email, as Sentry's `assignedTo` takes. */
  assignee: z
    .string()
    .max(200)
    .regex(
      /^(user:\d+|team:\d+|[\w.+-]+@[\w.-]+|[\w.-]+)$/,
      "user:ID, team:ID, a username or an email",
    ),
});
export type AssignIssueParams = z.input<typeof AssignIssueParams>;

/** The operation names this adaptor registers on the optimizer. */
export const SentryOperations = {
  triage: "sentry.triage",
  issueDigest: "sentry.issue_digest",
  releaseHealth: "sentry.release_health",
  resolveIssue: "sentry.resolve_issue",
  assignIssue: "sentry.assign_issue",
} as const;

/** Definitions of every operation, for the Sentry upstream's global identifier `server`. */
export function sentryOperationDefinitions(server: string): OperationDefinition[] {
  return [
    {
      name: SentryOperations.triage,
      description:
        "Most frequent unresolved issues of a project in a time window, each with its top stack frame.",
      inputSchema: TriageParams,
      code: triageProgram(server),
    },
    {
      name: SentryOperations.issueDigest,
      description: "One issue in brief: counts, dates, exception and its innermost in-app frames.",
      inputSchema: IssueDigestParams,
      code: issueDigestProgram(server),
    },
    {
      name: SentryOperations.releaseHealth,
      description:
        "Health of a release (default the latest): crash-free rates, adoption, deploy, new and top unresolved issues.",
      inputSchema: ReleaseHealthParams,
      code: releaseHealthProgram(server),
    },
    {
      name: SentryOperations.resolveIssue,
      description:
        "Marks an issue resolved. Destructive: refused unless the allowlist permits update_issue.",
      inputSchema: ResolveIssueParams,
      code: updateIssueProgram(server, "resolve"),
      destructive: true,
    },
    {
      name: SentryOperations.assignIssue,
      description:
        "Assigns an issue to a user or team. Destructive: refused unless the allowlist permits update_issue.",
      inputSchema: AssignIssueParams,
      code: updateIssueProgram(server, "assign"),
      destructive: true,
    },
  ];
}
