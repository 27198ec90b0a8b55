import type { JsonValue } from "../json.js";

interface AuditBase {
  /** ISO timestamp. */
  at: string;
  executionId: string;
  sessionId: string;
  tenant: string;
  /** Who asked: an MCP client name, an API caller, "cli". */
  actor: string;
  outcome: "ok" | "error";
  errorCode?: string;
  durationMs: number;
}

export interface ExecutionAuditRecord extends AuditBase {
  type: "execution";
  kind: "run" | "operation";
  operation?: string;
  mode: string;
  /** What the sandbox noted, e.g. a hybrid sandbox's fallbacks, redacted. */
  notes?: string[];
  /** The program, redacted and cut to a few KB. */
  code: string;
  toolCalls: number;
  resultBytes: number;
  tokens: { used: number; plainMcp: number };
  /** A dry run: nothing but read-only tools ran. */
  dryRun?: boolean;
  /** The approval the program ran under (docs/approvals-and-skills.md). */
  approvalId?: string;
}

export interface ToolCallAuditRecord extends AuditBase {
  type: "tool_call";
  server: string;
  tool: string;
  /** The arguments after redaction (the policy may drop them entirely). */
  args: JsonValue | undefined;
  resultBytes: number;
  /** Calls made to the upstream: 0 when the result came from the memo cache. */
  attempts: number;
  /** The result came from the memo cache. */
  cached?: boolean;
  /** A dry run answered it with a placeholder; the upstream was not called. */
  dryRun?: boolean;
}

export type AuditRecord = ExecutionAuditRecord | ToolCallAuditRecord;

/**
 * Receives one record per execution and per tool call, already redacted. A sink must not
 * throw into the caller: failures are its own to report.
 */
export interface AuditSink {
  write(record: AuditRecord): void | Promise<void>;
  flush?(): Promise<void>;
  close?(): Promise<void>;
}
