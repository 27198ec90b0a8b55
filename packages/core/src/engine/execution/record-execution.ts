import type { ExecutionAuditRecord } from "../../contracts/audit-sink.js";
import type { SessionLogEntry, SessionToolCallLog } from "../../contracts/session-store.js";
import type { EngineParts } from "./engine-parts.js";

const CODE_IN_LOG_CHARS = 4000;

export interface ExecutionFacts {
  executionId: string;
  sessionId: string;
  tenant: string;
  actor: string;
  kind: "run" | "operation";
  operation: string | undefined;
  /** The program as the model wrote it. */
  source: string;
  errorCode: string | undefined;
  durationMs: number;
  mode: string;
  /** What the sandbox noted (fallbacks), already redacted. */
  notes: string[] | undefined;
  toolCalls: SessionToolCallLog[];
  tokens: { used: number; plainMcp: number };
  /** Bytes of what the model reads. */
  resultBytes: number;
  /** A dry run. */
  dryRun?: boolean;
  /** The approval it ran under. */
  approvalId?: string;
  /** What the program read from and wrote to `context` (values already redacted). */
  context?: ExecutionAuditRecord["context"] | undefined;
}

/** The execution's line in the session log: the program redacted and cut to a few KB. */
export function logEntryOf(parts: EngineParts, facts: ExecutionFacts): SessionLogEntry {
  return {
    executionId: facts.executionId,
    at: new Date().toISOString(),
    kind: facts.kind,
    ...(facts.operation ? { operation: facts.operation } : {}),
    code: parts.redactor.text(facts.source).slice(0, CODE_IN_LOG_CHARS),
    outcome: facts.errorCode ? "error" : "ok",
    ...(facts.errorCode ? { errorCode: facts.errorCode } : {}),
    durationMs: Math.round(facts.durationMs),
    mode: facts.mode,
    ...(facts.notes ? { notes: facts.notes } : {}),
    toolCalls: facts.toolCalls,
    tokens: facts.tokens,
  };
}

/** Writes the execution's audit record to every sink; a failing sink never fails the execution. */
export function auditExecution(
  parts: EngineParts,
  facts: ExecutionFacts,
  entry: SessionLogEntry,
): void {
  const record: ExecutionAuditRecord = {
    type: "execution",
    at: entry.at,
    executionId: facts.executionId,
    sessionId: facts.sessionId,
    tenant: facts.tenant,
    actor: facts.actor,
    outcome: entry.outcome,
    ...(entry.errorCode ? { errorCode: entry.errorCode } : {}),
    durationMs: entry.durationMs,
    kind: facts.kind,
    ...(facts.operation ? { operation: facts.operation } : {}),
    mode: facts.mode,
    ...(facts.notes ? { notes: facts.notes } : {}),
    code: entry.code,
    toolCalls: facts.toolCalls.length,
    resultBytes: facts.resultBytes,
    tokens: facts.tokens,
    ...(facts.dryRun ? { dryRun: true } : {}),
    ...(facts.approvalId ? { approvalId: facts.approvalId } : {}),
    ...(facts.context ? { context: facts.context } : {}),
  };
  for (const sink of parts.audit) {
    try {
      const written = sink.write(record);
      if (written && typeof (written as Promise<void>).catch === "function")
        (written as Promise<void>).catch(() => {});
    } catch {}
  }
}
