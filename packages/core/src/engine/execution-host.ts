import type { Context } from "@opentelemetry/api";
import * as z from "zod";
import type { DryRunCall } from "../approvals/approval-book.js";
import { needsApproval, type ResolvedApprovalRules } from "../approvals/approval-policy.js";
import { type Redactor, redactError } from "../audit/redactor.js";
import { effectiveAnnotations, type SearchHit, type ToolCatalog } from "../catalog/tool-catalog.js";
import type { ExecutionContext } from "../context/execution-context.js";
import type { AuditSink, ToolCallAuditRecord } from "../contracts/audit-sink.js";
import type { GuestRequest, SandboxHost } from "../contracts/sandbox.js";
import type { SessionAllowlist, SessionToolCallLog } from "../contracts/session-store.js";
import type { Tokenizer } from "../contracts/tokenizer.js";
import type { ToolCallResult, Upstream } from "../contracts/upstream.js";
import {
  ErrorCodes,
  hasErrorCode,
  isOptimizerError,
  OptimizerError,
  toOptimizerError,
} from "../errors.js";
import { featureDisabled } from "../features/feature-flags.js";
import { isPlainObject, type JsonObject, type JsonValue } from "../json.js";
import type { CallMemo } from "../memo/call-memo.js";
import { type ExecutionPrivacy, isDetectorFailure } from "../privacy/execution-privacy.js";
import { withSkillHits } from "../skills/skill-runtime.js";
import { Attr, Instruments, SpanKind, type Telemetry } from "../telemetry/instruments.js";
import { countTokensAsync } from "../tokens/o200k-tokenizer.js";
import { plainCallTokensAsync, roundTripsOf, toolCallText } from "../tokens/token-accounting.js";
import { checkToolAllowed, serverVisible } from "./policy.js";
import { isTransient, type RetryOptions, withRetry } from "./retry.js";

/** An upstream timeout this close to the execution's deadline was the deadline's doing. */
const DEADLINE_SLACK_MS = 5;

export interface ExecutionIdentity {
  executionId: string;
  sessionId: string;
  tenant: string;
  actor: string;
  allow: SessionAllowlist;
}

export interface ExecutionHostDeps {
  catalog: ToolCatalog;
  upstreams: ReadonlyMap<string, Upstream>;
  redactor: Redactor;
  audit: readonly AuditSink[];
  telemetry: Telemetry;
  tokenizer: () => Tokenizer;
  retry: RetryOptions;
  validators: ValidatorCache;
  /** Whether tool arguments go into audit records. */
  auditArguments: boolean;
  /** Upper bound for one upstream call, in ms (the execution's own deadline also applies). */
  callTimeoutMs?: number;
  /** Tool calls one execution may make; the next fails with QUOTA_EXCEEDED. Default: no limit. */
  maxToolCalls?: number;
  /**
   * Waits for a server that is not connected yet (still starting) until its tools are in the
   * catalog, or throws UPSTREAM_UNAVAILABLE saying why it is down. Without it, a tool of a
   * server that has not connected is TOOL_NOT_FOUND.
   */
  whenUpstreamReady?: (server: string) => Promise<void>;
  /** Tokens in arguments, sensitive-data flows and tokenized audit arguments; undefined when privacy is off. */
  privacy?: ExecutionPrivacy;
  /** The value behind one of the session's result handles (`mcp.handle(id)`). */
  readHandle?: (id: string) => Promise<JsonValue>;
  /** Memoised read-only calls of the servers that opted in. Default: none. */
  memo?: CallMemo;
  /**
   * The approved plan: a call to a tool the rules ask about that is not in `approved` is refused
   * with TOOL_NOT_APPROVED and not made. Default: no gate (approvals off).
   */
  approvalGate?: { rules: ResolvedApprovalRules; approved: ReadonlySet<string> };
  /**
   * A dry run: read-only tools run for real, every other call is recorded (`dryRunCalls`) and
   * answered with a placeholder instead of being made. Default false.
   */
  dryRun?: boolean;
  /** The code of a skill for `skills.name(input)`, its input checked. Default: no skills (SKILL_NOT_FOUND). */
  skill?: (name: string, input: JsonValue) => Promise<JsonValue>;
  /** The tenant's skills that match a search, listed before tools. Default: none. */
  searchSkills?: (
    query: string,
    options: { limit: number; detail?: DetailLevel },
  ) => Promise<SearchHit[]>;
  /** The principal's `context` for this execution; undefined: switched off (FEATURE_DISABLED). */
  context?: ExecutionContext;
  /** What `mcp.capabilities()` answers: servers, tools, sandbox mode, features on. */
  capabilities?: () => JsonValue;
}

type DetailLevel = "name" | "signature" | "full";

/** How many skills one execution may load (skills calling skills included). */
const MAX_SKILL_CALLS = 1000;

/** Compiled argument validators, per catalog version and tool. */
export class ValidatorCache {
  private version = -1;
  private readonly validators = new Map<string, z.ZodType | null>();

  get(catalogVersion: number, key: string, schema: JsonObject): z.ZodType | null {
    if (catalogVersion !== this.version) {
      this.validators.clear();
      this.version = catalogVersion;
    }
    let v = this.validators.get(key);
    if (v === undefined) {
      try {
        v = z.fromJSONSchema(schema as never) as z.ZodType;
      } catch {
        v = null; // a schema zod cannot read is not a reason to refuse the call: the server validates too
      }
      this.validators.set(key, v);
    }
    return v;
  }
}

/**
 * The host side of one execution: answers the guest's tool calls and discovery requests.
 * Every tool call is checked against the session's allowlist and the tool's input schema,
 * retried only when the tool is annotated read-only or idempotent, redacted of secrets
 * before its result enters the sandbox, audited, traced and counted.
 */
export class ExecutionHost implements SandboxHost {
  readonly toolCalls: SessionToolCallLog[] = [];
  /** In a dry run: every call the program made, and whether it ran (read-only) or got a placeholder. */
  readonly dryRunCalls: DryRunCall[] = [];
  private skillCalls = 0;
  /** The trace context tool-call spans are parented to (set by the engine inside its sandbox phase span). */
  traceContext: Context | undefined;
  /** The calls as plain MCP would have shown them; counted after the run, off the guest's path. */
  private readonly plainCalls: {
    tool: string;
    args: JsonValue;
    result: ToolCallResult | undefined;
    /** When the guest asked and when the answer came (performance.now()): round trips follow from them. */
    startedMs: number;
    endedMs: number;
  }[] = [];
  private readonly started = Date.now();
  /** Tool calls begun, counted before they run so that parallel calls cannot pass the limit. */
  private callsBegun = 0;

  constructor(
    private readonly deps: ExecutionHostDeps,
    private readonly identity: ExecutionIdentity,
    private readonly deadline: number,
  ) {}

  async call(request: GuestRequest): Promise<JsonValue | undefined> {
    if (request.kind === "search") return this.search(request.query, request.options);
    if (request.kind === "handle") {
      if (!this.deps.readHandle) {
        throw new OptimizerError(ErrorCodes.HANDLE_NOT_FOUND, "Result handles are off here.");
      }
      return this.deps.readHandle(request.id);
    }
    if (request.kind === "describe") {
      return this.deps.catalog.describe(request.name, this.identity.allow) as unknown as JsonValue;
    }
    if (request.kind === "skill") return this.loadSkill(request.name, request.input);
    if (request.kind === "context") {
      if (!this.deps.context) throw featureDisabled("context", "The principal's `context`");
      return this.deps.context.answer(request);
    }
    if (request.kind === "capabilities") {
      if (!this.deps.capabilities) {
        throw new OptimizerError(
          ErrorCodes.INVALID_INPUT,
          "mcp.capabilities() is not offered here.",
        );
      }
      return this.deps.capabilities();
    }
    const result = await this.callTool(request.server, request.tool, request.args);
    return request.raw
      ? (result as unknown as JsonValue)
      : unwrapToolResult(result, `${request.server}.${request.tool}`);
  }

  /** Calls one upstream tool by server and tool (names or identifiers); resolves to the redacted raw result. */
  async callTool(serverName: string, toolName: string, args: JsonValue): Promise<ToolCallResult> {
    const { catalog, telemetry } = this.deps;
    const started = performance.now();
    let server = serverName;
    let tool = toolName;
    let attempts = 0;
    let resultBytes = 0;
    let cached = false;
    let dryRun = false;
    let outcome: "ok" | "error" = "ok";
    let errorCode: string | undefined;
    try {
      this.countCall();
      const entry = await this.findTool(serverName, toolName);
      server = entry.server;
      tool = entry.name;
      const decision = checkToolAllowed(this.identity.allow, server, tool);
      if (!decision.allowed) this.deny(server, tool, decision.reason);
      const gate = this.deps.approvalGate;
      if (
        gate &&
        !this.deps.dryRun &&
        !gate.approved.has(entry.qualifiedName) &&
        needsApproval(gate.rules, server, tool, entry.tool.annotations)
      ) {
        throw new OptimizerError(
          ErrorCodes.TOOL_NOT_APPROVED,
          `${entry.serverIdentifier}.${entry.identifier} needs a person's approval and is not in this run's approved plan (its name was computed at run time); it was not called. Call it by name (${entry.serverIdentifier}.${entry.identifier}({ ... })) so that the plan shows it and it can be approved.`,
          { details: { server, tool } },
        );
      }
      if (!isPlainObject(args)) {
        throw new OptimizerError(
          ErrorCodes.TOOL_INVALID_ARGUMENTS,
          `${entry.serverIdentifier}.${entry.identifier} takes one object of named arguments.`,
        );
      }
      // This session's tokens become their values; a sensitive value headed elsewhere stops here.
      if (this.deps.privacy) args = await this.deps.privacy.prepareCall(server, tool, args);
      this.validate(
        entry.qualifiedName,
        entry.tool.inputSchema,
        args as JsonObject,
        `${entry.serverIdentifier}.${entry.identifier}`,
      );
      const upstream = this.deps.upstreams.get(server);
      if (!upstream) {
        throw new OptimizerError(
          ErrorCodes.UPSTREAM_UNAVAILABLE,
          `The MCP server "${server}" is not connected.`,
        );
      }
      const annotations = effectiveAnnotations(entry.tool.annotations);
      if (this.deps.dryRun && !annotations.readOnlyHint) {
        // Recorded, not made: the program gets a placeholder it can tell from a real result.
        dryRun = true;
        this.dryRunCalls.push({
          tool: entry.qualifiedName,
          args: await this.auditArguments(args),
          ran: false,
        });
        const placeholder = { dryRun: true, tool: entry.qualifiedName };
        return {
          content: [{ type: "text", text: JSON.stringify(placeholder) }],
          structuredContent: placeholder,
        };
      }
      const retryable = annotations.readOnlyHint || annotations.idempotentHint;
      const memoizer = this.deps.memo;
      const memo = memoizer?.decide(server, tool, entry.tool.annotations);
      const lookup =
        memo?.kind === "cache"
          ? await memoizer!.lookup(this.identity.tenant, server, tool, args, memo.ttlMs)
          : undefined;
      let result: ToolCallResult;
      if (lookup?.hit) {
        // Kept already redacted; the plain-MCP figures below still count the call.
        result = lookup.result;
        cached = true;
      } else {
        try {
          result = await this.invoke(upstream, server, tool, args as JsonObject, retryable, (n) => {
            attempts = n;
          });
        } finally {
          // A tool that may write changed what the server's reads return.
          if (memo?.kind === "invalidate") await memoizer!.invalidate(server);
        }
      }
      this.plainCalls.push({ tool, args, result, startedMs: started, endedMs: performance.now() });
      const redacted = cached
        ? result
        : (this.deps.redactor.json(result as unknown as JsonValue) as unknown as ToolCallResult);
      if (lookup && !lookup.hit) await memoizer!.store(lookup, redacted);
      resultBytes = approximateBytes(redacted);
      if (!redacted.isError)
        catalog.noteCall(this.identity.tenant, this.identity.sessionId, entry.qualifiedName);
      if (redacted.isError) {
        const message = errorText(redacted) || "the tool reported an error without a message";
        throw new OptimizerError(
          ErrorCodes.TOOL_ERROR,
          `${entry.serverIdentifier}.${entry.identifier} failed: ${message}`,
          {
            details: { server, tool },
          },
        );
      }
      await this.deps.privacy?.noteResult(
        server,
        tool,
        unwrapToolResult(redacted, `${entry.serverIdentifier}.${entry.identifier}`),
      );
      if (this.deps.dryRun)
        this.dryRunCalls.push({
          tool: entry.qualifiedName,
          args: await this.auditArguments(args),
          ran: true,
        });
      return redacted;
    } catch (error) {
      // What the guest, the log and the audit see of the failure carries no secret.
      const e = redactError(this.deps.redactor, toOptimizerError(error, ErrorCodes.TOOL_ERROR));
      outcome = "error";
      errorCode = e.code;
      // The plain-MCP path would have paid for the failed call too.
      if (attempts > 0 || e.code === ErrorCodes.TOOL_ERROR)
        this.plainCalls.push({
          tool,
          args,
          result: undefined,
          startedMs: started,
          endedMs: performance.now(),
        });
      throw e;
    } finally {
      const durationMs = performance.now() - started;
      this.toolCalls.push({
        server,
        tool,
        outcome,
        ...(errorCode ? { errorCode } : {}),
        durationMs: Math.round(durationMs * 100) / 100,
        ...(cached ? { cached } : {}),
        ...(dryRun ? { dryRun } : {}),
      });
      const attrs = {
        [Attr.server]: server,
        [Attr.toolName]: tool,
        [Attr.outcome]: outcome,
        ...(errorCode ? { [Attr.errorType]: errorCode } : {}),
      };
      telemetry.count(Instruments.toolCalls, 1, attrs);
      if (attempts > 0) {
        telemetry.seconds(Instruments.mcpClientOperationDuration, durationMs, {
          [Attr.mcpMethodName]: "tools/call",
          [Attr.operationName]: "execute_tool",
          [Attr.toolName]: tool,
          [Attr.server]: server,
          ...(errorCode ? { [Attr.errorType]: errorCode } : {}),
        });
      }
      this.audit({
        type: "tool_call",
        at: new Date().toISOString(),
        executionId: this.identity.executionId,
        sessionId: this.identity.sessionId,
        tenant: this.identity.tenant,
        actor: this.identity.actor,
        outcome,
        ...(errorCode ? { errorCode } : {}),
        durationMs: Math.round(durationMs),
        server,
        tool,
        args: this.deps.auditArguments ? await this.auditArgumentsOrWithhold(args) : undefined,
        resultBytes,
        attempts: cached || dryRun ? 0 : Math.max(attempts, 1),
        ...(cached ? { cached } : {}),
        ...(dryRun ? { dryRun } : {}),
      });
    }
  }

  /** A skill's code for the guest (`skills.name(input)`), its input checked against its schema. */
  private async loadSkill(name: string, input: JsonValue): Promise<JsonValue> {
    if (!this.deps.skill) {
      throw new OptimizerError(ErrorCodes.SKILL_NOT_FOUND, "Skills are not available here.");
    }
    if (++this.skillCalls > MAX_SKILL_CALLS) {
      throw new OptimizerError(
        ErrorCodes.QUOTA_EXCEEDED,
        `This execution called skills more than ${MAX_SKILL_CALLS} times (a skill calling itself without end?).`,
        { details: { quota: "skillCallsPerExecution", limit: MAX_SKILL_CALLS } },
      );
    }
    return this.deps.skill(name, input);
  }

  /** Refuses the call past `maxToolCalls` of this execution. */
  private countCall(): void {
    const max = this.deps.maxToolCalls;
    this.callsBegun++;
    if (max !== undefined && this.callsBegun > max) {
      throw new OptimizerError(
        ErrorCodes.QUOTA_EXCEEDED,
        `This execution made more than ${max} tool calls, its limit: batch the work into fewer calls, or continue in another execution.`,
        { details: { quota: "toolCallsPerExecution", limit: max } },
      );
    }
  }

  /** The catalog entry of a tool; a server that has not connected yet is waited for first. */
  private async findTool(server: string, tool: string) {
    const { catalog, whenUpstreamReady } = this.deps;
    try {
      return catalog.tool(server, tool);
    } catch (error) {
      const missing =
        isOptimizerError(error) &&
        (error.code === ErrorCodes.TOOL_NOT_FOUND || error.code === ErrorCodes.SERVER_NOT_FOUND);
      if (!missing || !whenUpstreamReady) throw error;
      // A server this session may not see is not waited for, nor its start error shown.
      let name = server;
      try {
        name = catalog.server(server).name;
      } catch {}
      if (!serverVisible(this.identity.allow, name)) throw error;
      await whenUpstreamReady(server);
      return catalog.tool(server, tool);
    }
  }

  /** One upstream call in a span, with retries for tools that may be repeated. */
  private invoke(
    upstream: Upstream,
    server: string,
    tool: string,
    args: JsonObject,
    retryable: boolean,
    onAttempts: (n: number) => void,
  ): Promise<ToolCallResult> {
    return this.deps.telemetry.span(
      `tools/call ${tool}`,
      {
        [Attr.mcpMethodName]: "tools/call",
        [Attr.toolName]: tool,
        [Attr.operationName]: "execute_tool",
        [Attr.server]: server,
        [Attr.sessionId]: this.identity.sessionId,
        [Attr.tenant]: this.identity.tenant,
      },
      async () => {
        const { value, attempts } = await withRetry(
          () => {
            const remaining = this.deadline - Date.now();
            if (remaining <= 0) {
              throw new OptimizerError(ErrorCodes.SANDBOX_TIMEOUT, "The execution's time is up.");
            }
            const timeoutMs = Math.min(remaining, this.deps.callTimeoutMs ?? remaining);
            return upstream.callTool(tool, args, { timeoutMs }).catch((error: unknown) => {
              // Cut short by the execution's deadline, not by a call timeout (the server's own
              // or callTimeoutMs): the execution ran out of time, which an upstream timeout of
              // a few ms would hide.
              const cutByDeadline = Date.now() >= this.deadline - DEADLINE_SLACK_MS;
              if (!cutByDeadline || !hasErrorCode(error, ErrorCodes.UPSTREAM_TIMEOUT)) throw error;
              throw new OptimizerError(
                ErrorCodes.SANDBOX_TIMEOUT,
                `The execution's time ran out while ${server}.${tool} was answering.`,
                { cause: error },
              );
            });
          },
          { ...this.deps.retry, retryable: (e) => retryable && isTransient(e) },
        );
        onAttempts(attempts);
        return value;
      },
      SpanKind.CLIENT,
      this.traceContext,
    );
  }

  /** Tokens the calls would have cost over plain MCP: each call the model writes and each result it reads. */
  async plainMcpCallTokens(): Promise<number> {
    const tokenizer = this.deps.tokenizer();
    let total = 0;
    for (const call of this.plainCalls)
      total += await plainCallTokensAsync(tokenizer, call.tool, call.args, call.result);
    return total;
  }

  /**
   * The calls as plain MCP's round trips (see roundTripsOf): in each, the tokens of the calls
   * the model writes and of the results it reads.
   */
  async plainMcpSteps(): Promise<{ output: number; results: number }[]> {
    const tokenizer = this.deps.tokenizer();
    const steps: { output: number; results: number }[] = [];
    for (const turn of roundTripsOf(this.plainCalls)) {
      let output = 0;
      let results = 0;
      for (const call of turn) {
        const written = await countTokensAsync(tokenizer, toolCallText(call.tool, call.args));
        output += written;
        results +=
          (await plainCallTokensAsync(tokenizer, call.tool, call.args, call.result)) - written;
      }
      steps.push({ output, results });
    }
    return steps;
  }

  private async search(query: string, options: JsonObject): Promise<JsonValue> {
    const detail = options.detail;
    if (detail !== undefined && detail !== "name" && detail !== "signature" && detail !== "full") {
      throw new OptimizerError(
        ErrorCodes.INVALID_INPUT,
        'mcp.search detail is "name", "signature" or "full".',
      );
    }
    const limit = Math.min(Math.max(Math.trunc(Number(options.limit ?? 10)) || 10, 1), 50);
    const skillsOnly = options.server === "skills" && this.deps.searchSkills !== undefined;
    const skills =
      this.deps.searchSkills && (options.server === undefined || skillsOnly)
        ? await this.deps.searchSkills(String(query), { limit, ...(detail ? { detail } : {}) })
        : [];
    if (skillsOnly) return skills as unknown as JsonValue;
    const hits = await this.deps.catalog.search(query, {
      ...(typeof options.limit === "number" ? { limit: options.limit } : {}),
      ...(detail ? { detail } : {}),
      ...(typeof options.server === "string" ? { server: options.server } : {}),
      allow: this.identity.allow,
      // The tenant's learned pairs rank the search; the session's next calls teach it.
      tenant: this.identity.tenant,
      sessionId: this.identity.sessionId,
    });
    return withSkillHits(hits, skills, limit) as unknown as JsonValue;
  }

  private validate(key: string, schema: JsonObject, args: JsonObject, call: string): void {
    const validator = this.deps.validators.get(this.deps.catalog.version, key, schema);
    if (!validator) return;
    const parsed = validator.safeParse(args);
    if (parsed.success) return;
    const issues = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.length ? i.path.join(".") : "(arguments)"}: ${i.message}`)
      .join("; ");
    throw new OptimizerError(
      ErrorCodes.TOOL_INVALID_ARGUMENTS,
      `${call} got invalid arguments: ${issues}. See its signature with mcp.describe("${call}").`,
      {
        details: {
          issues: parsed.error.issues
            .slice(0, 20)
            .map((i) => ({ path: i.path.join("."), message: i.message })),
        },
      },
    );
  }

  /** Arguments as audit records keep them: secrets scrubbed, personal data as tokens. */
  private async auditArguments(args: JsonValue): Promise<JsonValue> {
    const redacted = this.deps.redactor.json(args);
    return this.deps.privacy ? this.deps.privacy.json(redacted) : redacted;
  }

  /** The audit record of a call that was made is written even when the detector fails: without its arguments. */
  private async auditArgumentsOrWithhold(args: JsonValue): Promise<JsonValue> {
    try {
      return await this.auditArguments(args);
    } catch (error) {
      if (!isDetectorFailure(error)) throw error;
      return "[withheld: the personal-data detector failed]";
    }
  }

  private deny(server: string, tool: string, reason: string): never {
    throw new OptimizerError(
      ErrorCodes.TOOL_DENIED,
      `${server}.${tool} is not allowed: ${reason}.`,
      {
        details: { server, tool },
      },
    );
  }

  private audit(record: ToolCallAuditRecord): void {
    for (const sink of this.deps.audit) {
      try {
        const written = sink.write(record);
        if (written && typeof (written as Promise<void>).catch === "function")
          (written as Promise<void>).catch(() => {});
      } catch {}
    }
  }

  get elapsedMs(): number {
    return Date.now() - this.started;
  }
}

function parseMaybeJson(text: string): JsonValue {
  const t = text.trimStart();
  if (t.startsWith("{") || t.startsWith("[") || t.startsWith('"')) {
    try {
      return JSON.parse(text) as JsonValue;
    } catch {}
  }
  return text;
}

/**
 * What `await server.tool(args)` resolves to: the structured content when the tool has one,
 * else its text (JSON-parsed when the text is a JSON object, array or string), else the
 * content blocks. `isError` results are thrown before this.
 */
export function unwrapToolResult(result: ToolCallResult, _name?: string): JsonValue {
  if (result.structuredContent !== undefined && result.structuredContent !== null) {
    return result.structuredContent as JsonValue;
  }
  const content = Array.isArray(result.content) ? result.content : [];
  const texts = content
    .filter((b) => b.type === "text" && typeof b.text === "string")
    .map((b) => b.text as string);
  if (texts.length === 1) return parseMaybeJson(texts[0]!);
  if (texts.length > 1 && texts.length === content.length) return texts.map(parseMaybeJson);
  return content as unknown as JsonValue;
}

function errorText(result: ToolCallResult): string {
  return (result.content ?? [])
    .filter((b) => b.type === "text" && typeof b.text === "string")
    .map((b) => b.text as string)
    .join("\n")
    .slice(0, 2000);
}

function approximateBytes(value: unknown): number {
  try {
    return Buffer.byteLength(JSON.stringify(value) ?? "");
  } catch {
    return 0;
  }
}
