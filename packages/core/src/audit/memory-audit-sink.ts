import type { AuditRecord, AuditSink } from "../contracts/audit-sink.js";
import type { JsonValue } from "../json.js";
import { createRedactor } from "./redactor.js";

export interface MemoryAuditSinkOptions {
  /** Records kept at most; the oldest go first. Default 10000. */
  limit?: number;
  /** Values to scrub again at the sink, on top of the engine's redaction. Default none. */
  secrets?: string[];
}

/** Keeps audit records in memory: for tests, embedding and inspection. */
export class MemoryAuditSink implements AuditSink {
  private readonly kept: AuditRecord[] = [];
  private readonly redact;
  private readonly limit: number;

  constructor(options: MemoryAuditSinkOptions = {}) {
    this.limit = options.limit ?? 10_000;
    this.redact = createRedactor(options.secrets ?? []);
  }

  write(record: AuditRecord): void {
    this.kept.push(
      this.redact.json(structuredClone(record) as unknown as JsonValue) as unknown as AuditRecord,
    );
    if (this.kept.length > this.limit) this.kept.splice(0, this.kept.length - this.limit);
  }

  /** Copies of the records, oldest first. */
  records(): AuditRecord[] {
    return structuredClone(this.kept);
  }

  clear(): void {
    this.kept.length = 0;
  }
}

export function createMemoryAuditSink(options: MemoryAuditSinkOptions = {}): MemoryAuditSink {
  return new MemoryAuditSink(options);
}
