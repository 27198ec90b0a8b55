import type { Redactor } from "../audit/redactor.js";
import type { ContextAuditRead, ContextAuditWrite } from "../contracts/audit-sink.js";
import type { ContextRequest } from "../contracts/sandbox.js";
import { ErrorCodes, OptimizerError } from "../errors.js";
import { isPlainObject, type JsonValue } from "../json.js";
import type { ContextEntry, ContextSetOptions, PrincipalContext } from "./principal-context.js";

/** Largest value an audit record keeps of one context read; larger ones are recorded by size. */
const AUDIT_VALUE_BYTES = 4096;

/**
 * The host side of the guest's `context` in one execution: answers its requests from the
 * principal's context, scrubs secrets from every value handed to the program (as tool results
 * are), and notes what was read and written for the execution's audit record.
 */
export class ExecutionContext {
  readonly reads: ContextAuditRead[] = [];
  readonly writes: ContextAuditWrite[] = [];

  constructor(
    private readonly context: PrincipalContext,
    private readonly redactor: Redactor,
  ) {}

  async answer(request: ContextRequest): Promise<JsonValue> {
    const { op } = request;
    if (op === "get") {
      const entry = await this.context.entry(keyOf(request));
      this.noteRead(keyOf(request), entry);
      return entry === undefined ? null : { value: this.redactor.json(entry.value) };
    }
    if (op === "list") {
      const prefix = request.prefix ?? "";
      if (typeof prefix !== "string") throw invalid("context.list(prefix) takes a string.");
      const entries = await this.context.list(prefix);
      for (const e of entries) this.noteRead(e.key, e);
      return entries.map((e) => ({
        key: e.key,
        value: this.redactor.json(e.value),
        version: e.version,
        updatedAt: e.updatedAt,
        ...(e.expiresAt ? { expiresAt: e.expiresAt } : {}),
      }));
    }
    if (op === "set") {
      const key = keyOf(request);
      const written = await this.context.set(key, requestValue(request), setOptions(request));
      this.writes.push({ op, key, version: written.version });
      return {
        version: written.version,
        ...(written.expiresAt ? { expiresAt: written.expiresAt } : {}),
      };
    }
    if (op === "delete") {
      const key = keyOf(request);
      const deleted = await this.context.delete(key);
      this.writes.push({ op, key, ...(deleted ? {} : { missing: true }) });
      return deleted;
    }
    if (op === "update") {
      const key = keyOf(request);
      const expected = request.absent === true ? undefined : (request.expected ?? null);
      const result = await this.context.update(
        key,
        expected,
        requestValue(request),
        setOptions(request),
      );
      if (result.ok) {
        this.writes.push({ op, key, version: result.version });
        return result;
      }
      this.writes.push({ op, key, conflict: true });
      this.noteRead(
        key,
        result.current === undefined
          ? undefined
          : { value: result.current, version: result.version },
      );
      return {
        ok: false,
        ...(result.current !== undefined ? { current: this.redactor.json(result.current) } : {}),
        version: result.version,
      };
    }
    throw invalid(`Unknown context operation ${JSON.stringify(op)}.`);
  }

  /** A read as the audit record keeps it: the value scrubbed of secrets, or its size when large. */
  private noteRead(key: string, entry: Pick<ContextEntry, "value" | "version"> | undefined): void {
    if (!entry) {
      this.reads.push({ key, found: false });
      return;
    }
    const value = this.redactor.json(entry.value);
    const bytes = Buffer.byteLength(JSON.stringify(value));
    this.reads.push({
      key,
      found: true,
      version: entry.version,
      ...(bytes <= AUDIT_VALUE_BYTES ? { value } : { bytes }),
    });
  }
}

function keyOf(request: ContextRequest): string {
  if (typeof request.key !== "string")
    throw invalid(`context.${request.op}(key, ...) takes a string key.`);
  return request.key;
}

function requestValue(request: ContextRequest): JsonValue {
  if (request.value === undefined) {
    throw invalid(
      `context.${request.op} needs a JSON value; to remove a key, use context.delete(key).`,
    );
  }
  return request.value;
}

function setOptions(request: ContextRequest): ContextSetOptions | undefined {
  const options = request.options;
  if (options === undefined) return undefined;
  if (!isPlainObject(options))
    throw invalid(`context.${request.op}'s options are an object: { ttl }.`);
  const { ttl, ...rest } = options;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) {
    throw invalid(
      `context.${request.op} takes { ttl } (milliseconds); unknown option ${JSON.stringify(unknown[0])}.`,
    );
  }
  return ttl === undefined ? undefined : { ttl: ttl as number };
}

function invalid(message: string): OptimizerError {
  return new OptimizerError(ErrorCodes.INVALID_INPUT, message);
}
