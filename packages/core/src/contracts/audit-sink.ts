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
  /** What the program read from and wrote to its principal's `context`; absent when it used none. */
  context?: { principal: string; reads: ContextAuditRead[]; writes: ContextAuditWrite[] };
}

/** One key a program read from `context`: the value as redacted as results are, or its size when large. */
export interface ContextAuditRead {
  key: string;
  found: boolean;
  version?: number;
  value?: JsonValue;
  /** Bytes of a value too large to keep in the record. */
  bytes?: number;
}

/** One write a program made to `context` (keys, never values). */
export interface ContextAuditWrite {
  op: "set" | "delete" | "update";
  key: string;
  /** The version written. */
  version?: number;
  /** An update that found another value and wrote nothing. */
  conflict?: boolean;
  /** A delete of a key that did not exist. */
  missing?: boolean;
}

/**
 * Feature flags changed on a running optimizer (a config reload). It belongs to no execution
 * or session: `executionId` is the change's own id and `sessionId` is "-".
 */
export interface FeatureChangeAuditRecord extends AuditBase {
  type: "feature_change";
  changes: { flag: string; from: boolean; to: boolean; source: string }[];
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

export type AuditRecord = ExecutionAuditRecord | ToolCallAuditRecord | FeatureChangeAuditRecord;

/**
 * Receives one record per execution, per tool call and per feature-flag change, already redacted. A sink must not
 * throw into the caller: failures are its own to report.
 */
export interface AuditSink {
  write(record: AuditRecord): void | Promise<void>;
  flush?(): Promise<void>;
  close?(): Promise<void>;
}
