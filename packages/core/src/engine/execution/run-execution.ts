import { randomUUID } from "node:crypto";
import type { DetailLevel } from "../../catalog/tool-catalog.js";
import type { ExecutionContext } from "../../context/execution-context.js";
import type { SandboxLimits } from "../../contracts/sandbox.js";
import type { SessionRecord } from "../../contracts/session-store.js";
import { ErrorCodes, OptimizerError } from "../../errors.js";
import { featureDisabled } from "../../features/feature-flags.js";
import type { JsonValue } from "../../json.js";
import { ExecutionPrivacy, isDetectorFailure } from "../../privacy/execution-privacy.js";
import { readHandle } from "../../results/result-handles.js";
import { assertSessionId } from "../../sessions/session-data.js";
import { Attr } from "../../telemetry/instruments.js";
import { countTokensAsync } from "../../tokens/o200k-tokenizer.js";
import { ExecutionHost } from "../execution-host.js";
import type { RegisteredOperation } from "../operations.js";
import type { RunOptions, RunResult } from "../optimizer.js";
import { assertAllowlist } from "../policy.js";
import type { Program } from "../transpile.js";
import { accountExecution } from "./account-execution.js";
import { type ApprovalStep, approvePlan, attachPreview } from "./approve-plan.js";
import type { EngineParts } from "./engine-parts.js";
import { guestCapabilities, openContext } from "./guest-services.js";
import { loadSession } from "./load-session.js";
import { planEffects } from "./plan-effects.js";
import { auditExecution, type ExecutionFacts, logEntryOf } from "./record-execution.js";
import { hintsFromPlan, inferHints } from "./routing-hints.js";
import { runInSandbox, type SandboxResult } from "./run-in-sandbox.js";
import { saveSession } from "./save-session.js";
import { takeSessionTurn } from "./session-turn.js";
import { type ShapedOutcome, shapeOutcome } from "./shape-outcome.js";

export interface ExecutionRequest {
  /** The compiled program. */
  program: Program;
  /** The program as the model (or the operation) wrote it: what is counted, logged and audited. */
  source: string;
  kind: "run" | "operation";
  op: RegisteredOperation | undefined;
  options: RunOptions;
  /** The text compiled into `program` (an operation's with its params): what an approval binds to. Default: `source`. */
  text?: string;
}

/**
 * One execution, top to bottom: take the session's turn, load the session, open its principal's
 * context, route, plan its effects, approve, run in the sandbox, shape the result, account for
 * tokens, save the session,
 * audit. docs/DESIGN.md draws it.
 */
export async function runExecution(
  parts: EngineParts,
  request: ExecutionRequest,
): Promise<RunResult> {
  const { options } = request;
  const sessionId = options.sessionId ?? randomUUID();
  assertSessionId(sessionId);
  const timeoutMs = checkedTimeout(options.timeoutMs ?? parts.config.maxExecutionTime);

  const turn = await takeSessionTurn({ ...parts, lease: parts.settings.lease }, sessionId);
  try {
    const started = performance.now();
    const session = await loadSession(
      parts.sessions,
      turn,
      newSessionInput(parts, sessionId, options),
      parts.timedStore,
    );
    const executionId = randomUUID();
    const privacy =
      parts.settings.privacy && parts.features.on("privacy")
        ? new ExecutionPrivacy(parts.settings.privacy, parts.sessions.entries, session.id)
        : undefined;
    const principal = options.principal ?? parts.settings.sessionDefaults.principal;
    const context = openContext(parts, session, principal);
    const deadline = Date.now() + timeoutMs;
    // Servers the program names that are still starting: wait, so their tools' annotations count.
    const { program } = request;
    await parts.whenUpstreamsReady([
      ...program.references.map(([server]) => server),
      ...program.literalCalls.map(([server]) => server),
      ...program.computedRefs,
    ]);
    const text = request.text ?? request.source;
    const plan = await planEffects(parts.catalog, {
      program,
      text,
      allow: session.allow,
      rules: parts.settings.approvals?.rules(session.tenant),
      whenReady: parts.whenUpstreamsReady,
      ...(parts.skills
        ? { skill: (name, version) => parts.skills!.forPlan(session.tenant, name, version) }
        : {}),
    });
    const hints = {
      ...inferHints(parts.catalog, program, timeoutMs, parts.config.maxExecutionTime),
      ...hintsFromPlan(plan),
      ...options.hints,
    };
    const dryRun = options.dryRun === true;
    const approval = await approvePlan(parts, {
      plan,
      session,
      text,
      approvalId: options.approval,
      actor: options.actor ?? "api",
      dryRun,
    });
    const host = hostFor(
      parts,
      executionId,
      session,
      options,
      deadline,
      { privacy, context },
      approval,
    );
    let { outcome, failure }: SandboxResult =
      approval.kind === "refused"
        ? { failure: approval.failure }
        : await runInSandbox(parts, {
            executionId,
            session,
            program: request.program,
            limits: limitsFor(parts, timeoutMs),
            hints,
            host,
            spanAttrs: spanAttributes(request, session, executionId),
          });
    // A dry run shown with an approval request: its calls go with the request, nothing else.
    if (approval.kind === "preview") {
      failure = await attachPreview(parts, approval, host.dryRunCalls, failure);
      outcome = undefined;
    }
    const durationMs = performance.now() - started;
    let shaped: ShapedOutcome | undefined;
    let failureMessage: string | undefined;
    try {
      shaped = outcome && (await shapeOutcome(parts, outcome, { sessionId: session.id, privacy }));
      // What the model reads of a failure: with privacy on, its message tokenized too.
      failureMessage = failure && (privacy ? await privacy.text(failure.message) : failure.message);
    } catch (error) {
      // The detector failed: the output is withheld, the execution still accounted and audited
      // (its tool calls happened) and its state kept; the model reads the detector's error only.
      if (!isDetectorFailure(error)) throw error;
      shaped = undefined;
      failure = error;
      failureMessage = error.message;
    }
    const mode = outcome?.mode ?? parts.sandboxMode;
    const notes = outcome?.notes?.length
      ? outcome.notes.map((n) => parts.redactor.text(n))
      : undefined;
    const { tokens, cost } = await accountExecution(parts, {
      source: request.source,
      resultTokens: shaped
        ? shaped.tokens
        : await countTokensAsync(parts.tokenizer, failureMessage!),
      host,
      mode,
      kind: request.kind,
      errorCode: failure?.code,
      durationMs,
      fellBack: notes !== undefined,
    });
    const facts: ExecutionFacts = {
      executionId,
      sessionId: session.id,
      tenant: session.tenant,
      actor: options.actor ?? "api",
      kind: request.kind,
      operation: request.op?.name,
      source: request.source,
      errorCode: failure?.code,
      durationMs,
      mode,
      notes,
      toolCalls: host.toolCalls,
      tokens: { used: tokens.used, plainMcp: tokens.plainMcp },
      resultBytes: Buffer.byteLength(shaped?.text ?? ""),
      ...(dryRun ? { dryRun } : {}),
      ...(approval.kind === "run" && approval.approvalId
        ? { approvalId: approval.approvalId }
        : {}),
      context: await contextFacts(context, principal, privacy),
    };
    const entry = logEntryOf(parts, facts);
    // New tokens first: the session's next execution must find what this one showed the model.
    await privacy?.save(session.ttlMs);
    await saveSession(parts, turn, session, {
      // A dry run changes nothing, the session's state included.
      state: dryRun ? undefined : outcome?.state,
      entry,
      toolCalls: host.toolCalls.length,
      tokensUsed: tokens.used,
      tokensPlainMcp: tokens.plainMcp,
      costUsd: cost.usedUsd,
    });
    auditExecution(parts, facts, entry);

    if (failure) {
      throw new OptimizerError(failure.code, failureMessage!, {
        cause: failure,
        details: {
          ...failure.details,
          executionId,
          sessionId: session.id,
          tokens,
          // What a person decides on, and what the model can read about the refusal.
          ...(isApprovalCode(failure.code) ? { plan: parts.redactor.json(plan as never) } : {}),
        },
      });
    }
    return {
      value: shaped!.outcome.value,
      text: shaped!.text,
      ...(shaped!.encoding ? { encoding: shaped!.encoding } : {}),
      truncated: shaped!.truncated,
      logs: shaped!.outcome.logs,
      durationMs: Math.round(durationMs * 100) / 100,
      tokens,
      cost,
      sessionId: session.id,
      executionId,
      mode,
      toolCalls: host.toolCalls,
      ...(notes ? { notes } : {}),
      ...(shaped!.handle ? { handle: shaped!.handle } : {}),
      plan,
      ...(dryRun ? { dryRun: { calls: host.dryRunCalls } } : {}),
      ...(approval.kind === "run" && approval.approvalId
        ? { approvalId: approval.approvalId }
        : {}),
    };
  } finally {
    await turn.end();
  }
}

function checkedTimeout(timeoutMs: number): number {
  if (!Number.isInteger(timeoutMs) || timeoutMs < 10 || timeoutMs > 3_600_000) {
    throw new OptimizerError(
      ErrorCodes.INVALID_INPUT,
      `timeoutMs is an integer from 10 to 3600000; got ${timeoutMs}.`,
    );
  }
  return timeoutMs;
}

function newSessionInput(parts: EngineParts, id: string, options: RunOptions) {
  const defaults = parts.settings.sessionDefaults;
  if (options.allow !== undefined) assertAllowlist(options.allow, "RunOptions.allow");
  return {
    id,
    ...(options.tenant !== undefined ? { tenant: options.tenant } : {}),
    create: {
      tenant: options.tenant ?? defaults.tenant,
      allow: options.allow ?? defaults.allow,
      ...(defaults.ttlMs ? { ttlMs: defaults.ttlMs } : {}),
    },
  };
}

function isApprovalCode(code: string): boolean {
  return (
    code === ErrorCodes.APPROVAL_REQUIRED ||
    code === ErrorCodes.APPROVAL_DENIED ||
    code === ErrorCodes.APPROVAL_NOT_FOUND
  );
}

function hostFor(
  parts: EngineParts,
  executionId: string,
  session: SessionRecord,
  options: RunOptions,
  deadline: number,
  services: { privacy: ExecutionPrivacy | undefined; context: ExecutionContext | undefined },
  approval: ApprovalStep,
): ExecutionHost {
  const { privacy, context } = services;
  const skills = parts.skills;
  const skillsOff = !parts.features.on("skills");
  const pins = approval.kind === "run" ? approval.pins : new Map<string, number>();
  const { settings } = parts;
  return new ExecutionHost(
    {
      catalog: parts.catalog,
      upstreams: parts.upstreams,
      redactor: parts.redactor,
      audit: parts.audit,
      telemetry: parts.telemetry,
      tokenizer: () => parts.tokenizer,
      retry: settings.retry,
      validators: parts.validators,
      auditArguments: settings.auditArguments,
      ...(settings.callTimeoutMs ? { callTimeoutMs: settings.callTimeoutMs } : {}),
      ...(settings.maxToolCalls !== undefined ? { maxToolCalls: settings.maxToolCalls } : {}),
      whenUpstreamReady: parts.whenUpstreamReady,
      ...(parts.memo && parts.features.on("memoisation") ? { memo: parts.memo } : {}),
      ...(privacy ? { privacy } : {}),
      readHandle: (id) => readHandle(parts.sessions.entries, session.id, id),
      ...(approval.kind === "run" && approval.gate ? { approvalGate: approval.gate } : {}),
      ...(options.dryRun === true || approval.kind === "preview" ? { dryRun: true } : {}),
      ...(skillsOff
        ? {
            skill: async () => {
              throw featureDisabled("skills", "Skills");
            },
          }
        : skills
          ? {
              skill: async (name: string, input: JsonValue) =>
                (await skills.forCall(
                  session.tenant,
                  name,
                  input,
                  pins.get(name),
                )) as unknown as JsonValue,
              searchSkills: (query: string, o: { limit: number; detail?: DetailLevel }) =>
                skills.search(session.tenant, query, o),
            }
          : {}),
      ...(context ? { context } : {}),
      capabilities: guestCapabilities(parts, session),
    },
    {
      executionId,
      sessionId: session.id,
      tenant: session.tenant,
      actor: options.actor ?? "api",
      allow: session.allow,
    },
    deadline,
  );
}

/** What the audit record keeps of the program's `context` use; undefined when it used none. */
async function contextFacts(
  context: ExecutionContext | undefined,
  principal: string,
  privacy: ExecutionPrivacy | undefined,
): Promise<ExecutionFacts["context"]> {
  if (!context || (context.reads.length === 0 && context.writes.length === 0)) return undefined;
  // Values read are kept as audit arguments are: secrets scrubbed, personal data as tokens.
  const reads = privacy
    ? await Promise.all(
        context.reads.map(async (r) =>
          r.value === undefined ? r : { ...r, value: await privacy.json(r.value) },
        ),
      )
    : context.reads;
  return { principal, reads, writes: context.writes };
}

function limitsFor(parts: EngineParts, timeoutMs: number): SandboxLimits {
  return {
    timeoutMs,
    maxMemoryMb: parts.config.maxMemoryMb,
    maxOutputBytes: parts.settings.maxOutputBytes,
    maxLogBytes: parts.settings.maxLogBytes,
  };
}

function spanAttributes(
  request: ExecutionRequest,
  session: SessionRecord,
  executionId: string,
): Record<string, string> {
  return {
    [Attr.operationName]: "execute_tool",
    [Attr.toolName]: request.kind === "run" ? "execute_code" : (request.op?.name ?? "operation"),
    [Attr.sessionId]: session.id,
    [Attr.tenant]: session.tenant,
    [Attr.executionId]: executionId,
    [Attr.kind]: request.kind,
  };
}
