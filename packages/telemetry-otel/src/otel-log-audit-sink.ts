import type { AuditRecord, AuditSink } from "@mcp-optimizer/core";
import { Attr } from "@mcp-optimizer/core";
import {
  type AnyValue,
  type Attributes,
  type Logger,
  type LoggerProvider,
  logs,
  SeverityNumber,
} from "@opentelemetry/api";
import { type AuditRedactionOptions, createAuditRedaction } from "./audit-redaction.js";

export interface OtelLogAuditSinkOptions extends AuditRedactionOptions {
  /** Where the log records go. Default: the global LoggerProvider (`startTelemetry` installs one). */
  loggerProvider?: LoggerProvider;
  /** Instrumentation scope of the logger. Default "@mcp-optimizer/audit". */
  loggerName?: string;
}

/** Event names of the log records, one per record type. */
export const AUDIT_EVENT_NAMES = {
  execution: "mcp_optimizer.audit.execution",
  tool_call: "mcp_optimizer.audit.tool_call",
  feature_change: "mcp_optimizer.audit.feature_change",
} as const;

/**
 * Emits one OpenTelemetry log record per audit record: the event name says which kind,
 * the body is the whole (redacted) record, and the attributes carry the fields to filter on
 * (session, tenant, execution, tool, outcome). Failed operations are WARN, the rest INFO.
 */
export class OtelLogAuditSink implements AuditSink {
  private readonly logger: Logger;
  private readonly redact: (record: AuditRecord) => AuditRecord;

  constructor(private readonly options: OtelLogAuditSinkOptions = {}) {
    const provider = options.loggerProvider ?? logs.getLoggerProvider();
    this.logger = provider.getLogger(options.loggerName ?? "@mcp-optimizer/audit");
    this.redact = createAuditRedaction(options);
  }

  write(record: AuditRecord): void {
    try {
      const clean = this.redact(record);
      const failed = clean.outcome === "error";
      const attributes: Attributes = {
        [Attr.executionId]: clean.executionId,
        [Attr.sessionId]: clean.sessionId,
        [Attr.tenant]: clean.tenant,
        "mcp_optimizer.actor": clean.actor,
        [Attr.outcome]: clean.outcome,
        "mcp_optimizer.duration_ms": clean.durationMs,
        ...(clean.errorCode ? { [Attr.errorType]: clean.errorCode } : {}),
        ...(clean.type === "tool_call"
          ? { [Attr.server]: clean.server, [Attr.toolName]: clean.tool }
          : clean.type === "execution"
            ? { [Attr.mode]: clean.mode, [Attr.kind]: clean.kind }
            : {}),
      };
      this.logger.emit({
        eventName: AUDIT_EVENT_NAMES[clean.type],
        timestamp: new Date(clean.at),
        severityNumber: failed ? SeverityNumber.WARN : SeverityNumber.INFO,
        severityText: failed ? "WARN" : "INFO",
        // JSON round trip: drops undefined fields, which AnyValue cannot hold.
        body: JSON.parse(JSON.stringify(clean)) as AnyValue,
        attributes,
      });
    } catch {
      // A logger that throws must not reach the engine; the SDK reports its own export errors.
    }
  }

  /** Flushes the logger provider when it was given and can flush (the SDK's can). */
  async flush(): Promise<void> {
    await (
      this.options.loggerProvider as { forceFlush?: () => Promise<void> } | undefined
    )?.forceFlush?.();
  }

  async close(): Promise<void> {
    await this.flush();
  }
}

/** The OpenTelemetry log sink: `createOtelLogAuditSink({ secrets: [token] })`. */
export function createOtelLogAuditSink(options: OtelLogAuditSinkOptions = {}): OtelLogAuditSink {
  return new OtelLogAuditSink(options);
}
