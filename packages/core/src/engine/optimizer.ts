import { randomUUID } from "node:crypto";
import { createRedactor, type Redactor } from "../audit/redactor.js";
import {
  effectiveAnnotations,
  type SearchHit,
  ToolCatalog,
  type ToolDescription,
} from "../catalog/tool-catalog.js";
import { parseMcpServers, parseSandboxConfig } from "../config/parse-config.js";
import type { ResolvedSandboxConfig, SandboxConfig } from "../config/schema.js";
import type { AuditSink, ExecutionAuditRecord } from "../contracts/audit-sink.js";
import type {
  ExecutionHints,
  LogEntry,
  Sandbox,
  SandboxCapabilities,
  SandboxLimits,
  SandboxOutcome,
} from "../contracts/sandbox.js";
import type {
  SessionAllowlist,
  SessionLogEntry,
  SessionRecord,
  SessionStore,
  SessionToolCallLog,
} from "../contracts/session-store.js";
import type { Tokenizer } from "../contracts/tokenizer.js";
import type { Upstream, UpstreamInfo } from "../contracts/upstream.js";
import { ErrorCodes, isOptimizerError, OptimizerError, toOptimizerError } from "../errors.js";
import type { JsonObject, JsonValue } from "../json.js";
import { loadSandbox } from "../sandbox/load-sandbox.js";
import type { ProcessSandboxOptions } from "../sandbox/process/process-sandbox.js";
import { type MetaToolDefinition, metaToolDefinitions } from "../server/meta-tools.js";
import { MemorySessionStore } from "../sessions/memory-session-store.js";
import { assertSessionId, updateSession } from "../sessions/session-data.js";
import { Attr, Instruments, Telemetry } from "../telemetry/instruments.js";
import { countTokensAsync, createO200kTokenizer } from "../tokens/o200k-tokenizer.js";
import { createPricing, type Pricing, type PricingOptions } from "../tokens/pricing.js";
import { type TokenFigures, toolDefinitionsText } from "../tokens/token-accounting.js";
import { McpUpstream, type UpstreamEvent } from "../upstream/mcp-upstream.js";
import { ExecutionHost, ValidatorCache } from "./execution-host.js";
import {
  type OperationDefinition,
  type RegisteredOperation,
  registerOperation,
} from "./operations.js";
import type { RetryOptions } from "./retry.js";
import { SandboxRunners } from "./sandbox-runners.js";
import { renderOutcome, shapeToBudgetAsync } from "./shape-result.js";
import { compileProgram, type Program } from "./transpile.js";
import { UpstreamSet } from "./upstream-set.js";

export interface MCPOptimizerOptions {
  /** Sandbox mode and limits (the brief's SandboxConfig). Default: process mode, 30 s, 128 MB. */
  sandboxConfig?: SandboxConfig;
  /** Any Sandbox to use instead of the one `sandboxConfig.mode` names. */
  sandbox?: Sandbox;
  /** Where sessions live. Default: a new MemorySessionStore. */
  sessions?: SessionStore;
  /** Upstream servers in the `mcpServers` shape of MCP clients (stdio `command` or `url`). */
  mcpServers?: unknown;
  /** More upstreams: any implementation of the Upstream contract. */
  upstreams?: Upstream[];
  /** Where audit records go, already redacted. Default: nowhere. */
  audit?: AuditSink | AuditSink[];
  /** How tokens are counted. Default: o200k_base (gpt-tokenizer). */
  tokenizer?: Tokenizer;
  /** Token budget of the result the model sees; the rest is cut with a notice. Default 8000. */
  maxResultTokens?: number;
  /** Largest result plus state a program may return, in bytes. Default 4 MiB. */
  maxOutputBytes?: number;
  /** Console output kept per execution, in bytes. Default 64 KiB. */
  maxLogBytes?: number;
  /** Defaults of new sessions. Default: tenant "default", TTL 1 h, everything allowed. */
  sessionDefaults?: { tenant?: string; ttlMs?: number; allow?: SessionAllowlist };
  /** Retries for tools annotated read-only or idempotent. Default 3 attempts from 100 ms. */
  retry?: RetryOptions;
  /** Upper bound of one upstream call in ms. Default: the server's `timeout`, else 60000. */
  callTimeoutMs?: number;
  /** Price table and model for cost estimates. Default: claude-sonnet-4 list price. */
  pricing?: PricingOptions;
  /** More values to scrub from logs, audit records and results (config env/headers are added). */
  secrets?: string[];
  /** Variables for `${VAR}` in mcpServers. Default: process.env. */
  env?: Record<string, string | undefined>;
  /** Whether tool arguments appear in audit records (redacted of secrets). Default true. */
  auditArguments?: boolean;
  /** Warm sandbox runners kept for sessions at most; the least recently used is closed. Default 64. */
  maxSandboxSessions?: number;
  /** Close a session's sandbox runner after this many idle ms. Default 300000. */
  sandboxIdleMs?: number;
  /** Options of the built-in process sandbox. */
  processSandbox?: ProcessSandboxOptions;
  /** Fail start() when an upstream cannot be reached. Default false: it is retried in the background. */
  requireUpstreams?: boolean;
  /** Upstream connection events (also counted in metrics). */
  onUpstreamEvent?: (event: UpstreamEvent) => void;
}

export interface RunOptions {
  /** The session whose `state` the program sees; created when new. Default: a fresh session. */
  sessionId?: string;
  /** Tenant of a new session. Default: sessionDefaults.tenant. */
  tenant?: string;
  /** Allowlist of a new session. Default: sessionDefaults.allow. */
  allow?: SessionAllowlist;
  /** Who asked, for the audit trail. Default "api". */
  actor?: string;
  /** Wall-clock limit for this execution in ms. Default: sandboxConfig.maxExecutionTime. */
  timeoutMs?: number;
  /** Routing hints for a hybrid sandbox, merged over what the engine infers. */
  hints?: ExecutionHints;
}

export interface ToolCallSummary extends SessionToolCallLog {}

export interface RunResult {
  /** The program's return value. */
  value: JsonValue | undefined;
  /** What the model sees: the value and console output, cut to the token budget. */
  text: string;
  truncated: boolean;
  logs: LogEntry[];
  durationMs: number;
  tokens: TokenFigures;
  cost: { model: string; usedUsd: number; plainMcpUsd: number };
  sessionId: string;
  executionId: string;
  /** The sandbox mode that ran it. */
  mode: string;
  toolCalls: ToolCallSummary[];
  /** Notes from the sandbox (fallbacks taken). */
  notes?: string[];
}

export interface ExecuteOptions extends Omit<RunOptions, "hints"> {
  operation: string;
  params?: unknown;
}

export interface OptimizerCapabilities {
  sandbox: SandboxCapabilities;
  upstreams: (UpstreamInfo & { tools: number; toolDefinitionTokens: number })[];
  sessions: { kind: string; reachable: boolean; error?: string };
  telemetry: { metrics: boolean; traces: boolean };
  tokenizer: string;
  tools: number;
}

const CODE_IN_LOG_CHARS = 4000;

/**
 * The optimizer: many MCP servers behind one code execution interface. Programs run in a
 * sandbox, call upstream tools through the bridge, and only their result reaches the model.
 */
export class MCPOptimizer {
  readonly config: ResolvedSandboxConfig;
  readonly catalog = new ToolCatalog();
  readonly sessions: SessionStore;
  private readonly options: MCPOptimizerOptions;
  private readonly upstreams: UpstreamSet;
  private readonly redactor: Redactor;
  private readonly audit: AuditSink[];
  private readonly telemetry: Telemetry;
  private readonly validators = new ValidatorCache();
  private readonly operations = new Map<string, RegisteredOperation>();
  private readonly runners: SandboxRunners;
  private readonly pricing: Pricing;
  private sandbox: Sandbox | undefined;
  private tokenizer: Tokenizer | undefined;
  private starting: Promise<void> | undefined;
  private closed = false;
  private metaTools: { version: number; tools: MetaToolDefinition[]; tokens: number } | undefined;
  private plainDefinitions: { version: number; tokens: number } | undefined;

  constructor(options: MCPOptimizerOptions = {}) {
    this.options = options;
    this.config = parseSandboxConfig(options.sandboxConfig);
    const { servers, secrets } = parseMcpServers(
      options.mcpServers ?? {},
      options.env ? { env: options.env } : {},
    );
    this.redactor = createRedactor([...secrets, ...(options.secrets ?? [])]);
    this.sessions = options.sessions ?? new MemorySessionStore();
    this.audit =
      options.audit === undefined
        ? []
        : Array.isArray(options.audit)
          ? options.audit
          : [options.audit];
    this.telemetry = new Telemetry({
      metrics: this.config.enableMetrics,
      traces: this.config.enableTelemetry,
    });
    this.upstreams = new UpstreamSet({
      catalog: this.catalog,
      servers,
      ...(options.requireUpstreams ? { requireUpstreams: true } : {}),
    });
    this.runners = new SandboxRunners(() => this.sandbox!, {
      maxMemoryMb: this.config.maxMemoryMb,
      ...(options.maxSandboxSessions ? { maxRunners: options.maxSandboxSessions } : {}),
      ...(options.sandboxIdleMs ? { idleMs: options.sandboxIdleMs } : {}),
    });
    this.telemetry.observeSandboxSessions(() => this.runners.size);
    this.telemetry.observeSandboxPool(() => this.sandbox?.poolStats?.());
    this.pricing = createPricing(options.pricing);
    if (options.sandbox) this.sandbox = options.sandbox;
    for (const upstream of options.upstreams ?? []) this.upstreams.add(upstream);
    for (const [name, server] of Object.entries(servers)) {
      if (server.disabled) continue;
      this.upstreams.add(
        new McpUpstream({
          name,
          server,
          ...(options.callTimeoutMs ? { callTimeoutMs: options.callTimeoutMs } : {}),
          onEvent: (event) => this.onUpstreamEvent(event),
        }),
      );
    }
  }

  /**
   * Loads the tokenizer and the sandbox, starts the upstreams and waits for each one's first
   * start (connected, or failed and retried in the background). Idempotent. Executions do not
   * need it: they wait only for the servers they call.
   */
  async start(): Promise<void> {
    await this.startEngine();
    await this.upstreams.settled();
  }

  /** Loads the tokenizer and the sandbox and starts the upstreams in the background. */
  private startEngine(): Promise<void> {
    if (this.closed) return Promise.reject(this.closedError());
    this.starting ??= this.doStart().catch((error) => {
      this.starting = undefined;
      throw error;
    });
    return this.starting;
  }

  private async doStart(): Promise<void> {
    const tokenizer = this.options.tokenizer
      ? Promise.resolve(this.options.tokenizer)
      : createO200kTokenizer();
    const sandbox = this.sandbox
      ? Promise.resolve(this.sandbox)
      : loadSandbox(
          this.config,
          this.options.processSandbox ? { process: this.options.processSandbox } : {},
        );
    const [tok, box] = await Promise.all([tokenizer, sandbox, this.upstreams.connectAll()]);
    this.tokenizer = tok;
    this.sandbox = box;
  }

  /** Runs a program (TypeScript or JavaScript) and returns its shaped result. */
  async run(code: string, options: RunOptions = {}): Promise<RunResult> {
    await this.startEngine();
    const program = await compileProgram(code);
    return this.runProgram(program, code, "run", undefined, options);
  }

  /** Registers an operation that `execute()` runs by name. */
  registerOperation(definition: OperationDefinition): void {
    const op = registerOperation(definition);
    if (this.operations.has(op.name)) {
      throw new OptimizerError(
        ErrorCodes.INVALID_INPUT,
        `An operation named "${op.name}" is already registered.`,
      );
    }
    this.operations.set(op.name, op);
  }

  listOperations(): Pick<OperationDefinition, "name" | "description" | "destructive" | "tool">[] {
    return [...this.operations.values()].map(({ name, description, destructive, tool }) => ({
      name,
      ...(description ? { description } : {}),
      ...(destructive !== undefined ? { destructive } : {}),
      ...(tool ? { tool } : {}),
    }));
  }

  /** Runs a registered operation with validated params. */
  async execute(options: ExecuteOptions): Promise<RunResult> {
    await this.startEngine();
    const op = this.operations.get(options.operation);
    if (!op) {
      const known = [...this.operations.keys()];
      throw new OptimizerError(
        ErrorCodes.OPERATION_NOT_FOUND,
        `No operation "${options.operation}". Registered: ${known.join(", ") || "none"}.`,
      );
    }
    const params = await op.validate(options.params);
    if (op.tool) {
      const dot = op.tool.indexOf(".");
      const toolCode = `return await mcp.call(${JSON.stringify(op.tool.slice(0, dot))}, ${JSON.stringify(op.tool.slice(dot + 1))}, params);`;
      const program = await compileProgram(
        `const params = ${JSON.stringify(params)};\n${toolCode}`,
      );
      return this.runProgram(program, toolCode, "operation", op, options);
    }
    const program = await compileProgram(`const params = ${JSON.stringify(params)};\n${op.code}`);
    return this.runProgram(program, op.code!, "operation", op, options);
  }

  /** Ranked search over every tool, for the model-facing server and the CLI. */
  async search(
    query: string,
    options: { limit?: number; detail?: "name" | "signature" | "full"; server?: string } = {},
  ): Promise<SearchHit[]> {
    await this.start();
    return this.catalog.search(query, options);
  }

  async describe(name: string): Promise<ToolDescription> {
    await this.start();
    return this.catalog.describe(name);
  }

  /** The meta-tools the model sees (execute_code, search_tools) and what they cost in tokens. */
  async metaToolDefinitions(): Promise<{ tools: MetaToolDefinition[]; tokens: number }> {
    await this.startEngine();
    return this.currentMetaTools();
  }

  /** What is available here and now: the sandbox, each upstream, the session store. */
  async capabilities(): Promise<OptimizerCapabilities> {
    await this.start();
    const tokenizer = this.tokenizer!;
    const upstreams = this.upstreams.list().map((u) => {
      const tools = this.catalog.listTools().filter((t) => t.server === u.name);
      return {
        ...u.info(),
        ...(u.info().lastError ? { lastError: this.redactor.text(u.info().lastError!) } : {}),
        tools: tools.length,
        // No tools (an unreachable server) costs nothing, not the one token of "[]".
        toolDefinitionTokens:
          tools.length === 0 ? 0 : tokenizer.count(toolDefinitionsText(tools.map((t) => t.tool))),
      };
    });
    let sessions: OptimizerCapabilities["sessions"];
    try {
      await this.sessions.ping?.();
      sessions = { kind: this.sessions.kind, reachable: true };
    } catch (error) {
      sessions = { kind: this.sessions.kind, reachable: false, error: (error as Error).message };
    }
    return {
      sandbox: await this.sandbox!.capabilities(),
      upstreams,
      sessions,
      telemetry: { metrics: this.config.enableMetrics, traces: this.config.enableTelemetry },
      tokenizer: tokenizer.name,
      tools: this.catalog.toolCount,
    };
  }

  /** The upstreams by name (connected or not). */
  listUpstreams(): Upstream[] {
    return this.upstreams.list();
  }

  /** Closes a session's sandbox runner and deletes the session. */
  async deleteSession(sessionId: string): Promise<boolean> {
    assertSessionId(sessionId);
    await this.runners.close(sessionId);
    return this.timedStore("delete", () => this.sessions.delete(sessionId));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.starting?.catch(() => {});
    await this.runners.closeAll();
    await Promise.allSettled([
      this.upstreams.closeAll(),
      this.sandbox?.close(),
      ...this.audit.map((a) => a.close?.()),
    ]);
    if (!this.options.sessions) await this.sessions.close();
  }

  private async runProgram(
    program: Program,
    source: string,
    kind: "run" | "operation",
    op: RegisteredOperation | undefined,
    options: RunOptions,
  ): Promise<RunResult> {
    if (this.closed) throw this.closedError();
    const executionId = randomUUID();
    const started = performance.now();
    const tokenizer = this.tokenizer!;
    const session = await this.loadSession(options);
    const timeoutMs = options.timeoutMs ?? this.config.maxExecutionTime;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 10 || timeoutMs > 3_600_000) {
      throw new OptimizerError(
        ErrorCodes.INVALID_INPUT,
        `timeoutMs is an integer from 10 to 3600000; got ${timeoutMs}.`,
      );
    }
    const identity = {
      executionId,
      sessionId: session.id,
      tenant: session.tenant,
      actor: options.actor ?? "api",
      allow: session.allow,
    };
    const host = new ExecutionHost(
      {
        catalog: this.catalog,
        upstreams: this.upstreams.byName,
        redactor: this.redactor,
        audit: this.audit,
        telemetry: this.telemetry,
        tokenizer: () => this.tokenizer!,
        retry: this.options.retry ?? {},
        validators: this.validators,
        auditArguments: this.options.auditArguments ?? true,
        ...(this.options.callTimeoutMs ? { callTimeoutMs: this.options.callTimeoutMs } : {}),
        whenUpstreamReady: (server) => this.upstreams.whenReady(server),
      },
      identity,
      Date.now() + timeoutMs,
    );
    const limits: SandboxLimits = {
      timeoutMs,
      maxMemoryMb: this.config.maxMemoryMb,
      maxOutputBytes: this.options.maxOutputBytes ?? 4 * 1024 * 1024,
      maxLogBytes: this.options.maxLogBytes ?? 64 * 1024,
    };
    // Servers the program names that are still starting: wait, so their tools' annotations count.
    await this.upstreams.whenAllReady([
      ...program.references.map(([server]) => server),
      ...program.literalCalls.map(([server]) => server),
      ...program.computedRefs,
    ]);
    const hints = { ...this.inferHints(program, timeoutMs), ...options.hints };
    const spanAttrs = {
      [Attr.operationName]: "execute_tool",
      [Attr.toolName]: kind === "run" ? "execute_code" : (op?.name ?? "operation"),
      [Attr.sessionId]: session.id,
      [Attr.tenant]: session.tenant,
      [Attr.executionId]: executionId,
      [Attr.kind]: kind,
    };
    let outcome: SandboxOutcome | undefined;
    let failure: OptimizerError | undefined;
    try {
      outcome = await this.telemetry.span(
        `execute_tool ${spanAttrs[Attr.toolName]}`,
        spanAttrs,
        async (span) => {
          const { runner, release } = await this.telemetry.span(
            "mcp_optimizer.sandbox.acquire",
            spanAttrs,
            () => this.runners.acquire(session.id),
          );
          try {
            const result = await this.telemetry.span(
              "mcp_optimizer.sandbox.execute",
              spanAttrs,
              () => {
                // Tool-call spans are children of this phase, whatever context the sandbox's stream callbacks run in.
                host.traceContext = this.telemetry.activeContext();
                return runner.execute(
                  {
                    id: executionId,
                    code: program.code,
                    servers: this.catalog.guestServers(session.allow),
                    state: session.state,
                    limits,
                    hints,
                  },
                  host,
                );
              },
            );
            span?.setAttribute(Attr.mode, result.mode);
            return result;
          } finally {
            release();
          }
        },
      );
    } catch (error) {
      failure = this.redactError(toOptimizerError(error));
      if (failure.code === ErrorCodes.SANDBOX_UNAVAILABLE) await this.runners.close(session.id);
    }
    const durationMs = performance.now() - started;
    const mode = outcome?.mode ?? this.sandbox?.mode ?? this.config.mode;

    // Tokens: what the model saw in code mode versus what plain MCP would have cost.
    const meta = this.currentMetaTools();
    let text = "";
    let truncated = false;
    let resultTokens = 0;
    if (outcome) {
      const logs = outcome.logs.map((l) => ({ level: l.level, text: this.redactor.text(l.text) }));
      outcome = { ...outcome, logs, value: this.redactor.json(outcome.value) };
      const shaped = await shapeToBudgetAsync(
        renderOutcome(outcome.value, logs, outcome.logsTruncated),
        tokenizer,
        this.options.maxResultTokens ?? 8000,
      );
      text = shaped.text;
      truncated = shaped.truncated;
      resultTokens = shaped.tokens;
    } else if (failure) {
      resultTokens = tokenizer.count(failure.message);
    }
    const used = meta.tokens + (await countTokensAsync(tokenizer, source)) + resultTokens;
    const plainMcp = this.plainDefinitionTokens() + (await host.plainMcpCallTokens());
    const tokens: TokenFigures = {
      used,
      plainMcp,
      tokenizer: tokenizer.name,
      saved: plainMcp - used,
    };
    const cost = {
      model: this.pricing.model,
      usedUsd: this.pricing.cost(used),
      plainMcpUsd: this.pricing.cost(plainMcp),
    };

    const outcomeLabel = failure ? "error" : "ok";
    const metricAttrs = {
      [Attr.mode]: mode,
      [Attr.outcome]: outcomeLabel,
      [Attr.kind]: kind,
      ...(failure ? { [Attr.errorType]: failure.code } : {}),
    };
    this.telemetry.count(Instruments.executions, 1, metricAttrs);
    this.telemetry.seconds(Instruments.executionDuration, durationMs, metricAttrs);
    this.telemetry.count(Instruments.tokensUsed, used, { [Attr.mode]: mode });
    this.telemetry.count(Instruments.tokensPlainMcp, plainMcp, { [Attr.mode]: mode });
    this.telemetry.count(Instruments.tokensSaved, Math.max(0, plainMcp - used), {
      [Attr.mode]: mode,
    });
    this.telemetry.count(Instruments.costEstimated, cost.usedUsd, {
      [Attr.model]: cost.model,
      [Attr.costPath]: "code_mode",
    });
    this.telemetry.count(Instruments.costEstimated, cost.plainMcpUsd, {
      [Attr.model]: cost.model,
      [Attr.costPath]: "plain_mcp",
    });
    if (outcome?.notes?.length)
      this.telemetry.count(Instruments.sandboxFallbacks, 1, { [Attr.mode]: mode });

    const code = this.redactor.text(source).slice(0, CODE_IN_LOG_CHARS);
    // A hybrid sandbox's fallbacks: in the result, the session log and the audit trail.
    const notes = outcome?.notes?.length
      ? outcome.notes.map((n) => this.redactor.text(n))
      : undefined;
    const logEntry: SessionLogEntry = {
      executionId,
      at: new Date().toISOString(),
      kind,
      ...(op ? { operation: op.name } : {}),
      code,
      outcome: outcomeLabel,
      ...(failure ? { errorCode: failure.code } : {}),
      durationMs: Math.round(durationMs),
      mode,
      ...(notes ? { notes } : {}),
      toolCalls: host.toolCalls,
      tokens: { used, plainMcp },
    };
    await this.saveSession(
      session,
      outcome?.state,
      logEntry,
      host.toolCalls.length,
      tokens,
      cost.usedUsd,
    );
    this.writeAudit({
      type: "execution",
      at: logEntry.at,
      executionId,
      sessionId: session.id,
      tenant: session.tenant,
      actor: identity.actor,
      outcome: outcomeLabel,
      ...(failure ? { errorCode: failure.code } : {}),
      durationMs: Math.round(durationMs),
      kind,
      ...(op ? { operation: op.name } : {}),
      mode,
      ...(notes ? { notes } : {}),
      code,
      toolCalls: host.toolCalls.length,
      resultBytes: Buffer.byteLength(text),
      tokens: { used, plainMcp },
    });

    if (failure) {
      throw new OptimizerError(failure.code, failure.message, {
        cause: failure,
        details: { ...failure.details, executionId, sessionId: session.id, tokens },
      });
    }
    return {
      value: outcome!.value,
      text,
      truncated,
      logs: outcome!.logs,
      durationMs: Math.round(durationMs * 100) / 100,
      tokens,
      cost,
      sessionId: session.id,
      executionId,
      mode,
      toolCalls: host.toolCalls,
      ...(notes ? { notes } : {}),
    };
  }

  private async loadSession(options: RunOptions): Promise<SessionRecord> {
    const defaults = this.options.sessionDefaults ?? {};
    const id = options.sessionId ?? randomUUID();
    assertSessionId(id);
    const existing = await this.timedStore("get", () => this.sessions.get(id));
    if (existing) {
      if (options.tenant !== undefined && existing.tenant !== options.tenant) {
        throw new OptimizerError(
          ErrorCodes.SESSION_NOT_FOUND,
          `No session "${id}" for tenant "${options.tenant}".`,
        );
      }
      return existing;
    }
    try {
      return await this.timedStore("create", () =>
        this.sessions.create({
          id,
          tenant: options.tenant ?? defaults.tenant ?? "default",
          allow: options.allow ?? defaults.allow ?? {},
          ...(defaults.ttlMs ? { ttlMs: defaults.ttlMs } : {}),
        }),
      );
    } catch (error) {
      // Another replica created it between our get and create.
      if (isOptimizerError(error) && error.code === ErrorCodes.SESSION_EXISTS) {
        const record = await this.sessions.get(id);
        if (record) return record;
      }
      throw error;
    }
  }

  private async saveSession(
    session: SessionRecord,
    state: JsonObject | undefined,
    entry: SessionLogEntry,
    toolCalls: number,
    tokens: TokenFigures,
    costUsd: number,
  ): Promise<void> {
    try {
      await this.timedStore("update", () =>
        updateSession(
          this.sessions,
          session.id,
          (data) => ({
            ...data,
            ...(state ? { state } : {}),
            log: [...data.log, entry],
            counters: {
              executions: data.counters.executions + 1,
              toolCalls: data.counters.toolCalls + toolCalls,
              tokensUsed: data.counters.tokensUsed + tokens.used,
              tokensPlainMcp: data.counters.tokensPlainMcp + tokens.plainMcp,
              costUsd: data.counters.costUsd + costUsd,
            },
          }),
          { createWith: { tenant: session.tenant, allow: session.allow }, current: session },
        ),
      );
    } catch (error) {
      // The program ran; losing its bookkeeping must not turn its result into an error,
      // but a state change that did not persist must be reported.
      if (state && JSON.stringify(state) !== JSON.stringify(session.state)) throw error;
    }
  }

  private inferHints(program: Program, timeoutMs: number): ExecutionHints {
    const hints: ExecutionHints = {};
    const servers = new Map(this.catalog.listServers().map((s) => [s.identifier, s]));
    const refs: [string, string][] = [...program.references];
    for (const [server, tool] of program.literalCalls) {
      const s = this.catalog.listServers().find((x) => x.name === server);
      if (s) refs.push([s.identifier, tool]);
    }
    for (const [global, member] of refs) {
      const server = servers.get(global);
      if (!server) continue;
      const tool = server.tools.find((t) => t.identifier === member || t.name === member);
      if (!tool) continue;
      const a = effectiveAnnotations(tool.tool.annotations);
      if (!a.readOnlyHint) hints.mayWrite = true;
      if (a.destructiveHint) hints.mayDestroy = true;
    }
    // A server read with a computed key (github[name]) may reach any of its tools.
    for (const global of program.computedRefs) {
      const server = servers.get(global);
      for (const tool of server?.tools ?? []) {
        const a = effectiveAnnotations(tool.tool.annotations);
        if (!a.readOnlyHint) hints.mayWrite = true;
        if (a.destructiveHint) hints.mayDestroy = true;
      }
    }
    // A dynamic mcp.call (names not both literals, or mcp["call"] passed around) could reach anything.
    if (program.dynamicCalls || program.computedRefs.includes("mcp")) {
      hints.mayWrite = true;
      hints.mayDestroy = true;
    }
    if (timeoutMs > this.config.maxExecutionTime) hints.longRunning = true;
    return hints;
  }

  private onUpstreamEvent(event: UpstreamEvent): void {
    if (event.type === "connected" && event.reconnect)
      this.telemetry.count(Instruments.upstreamReconnects, 1, { [Attr.server]: event.server });
    this.upstreams.onEvent(event);
    this.options.onUpstreamEvent?.(event);
  }

  private currentMetaTools(): { tools: MetaToolDefinition[]; tokens: number } {
    if (!this.metaTools || this.metaTools.version !== this.catalog.version) {
      const tools = metaToolDefinitions(this.catalog.listServers(), {
        maxResultTokens: this.options.maxResultTokens ?? 8000,
      });
      this.metaTools = {
        version: this.catalog.version,
        tools,
        tokens: this.tokenizer!.count(JSON.stringify(tools)),
      };
    }
    return this.metaTools;
  }

  private plainDefinitionTokens(): number {
    if (!this.plainDefinitions || this.plainDefinitions.version !== this.catalog.version) {
      const text = toolDefinitionsText(this.catalog.listTools().map((t) => t.tool));
      this.plainDefinitions = {
        version: this.catalog.version,
        tokens: this.tokenizer!.count(text),
      };
    }
    return this.plainDefinitions.tokens;
  }

  private async timedStore<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    const started = performance.now();
    let errorType: string | undefined;
    try {
      return await fn();
    } catch (error) {
      errorType =
        typeof (error as { code?: unknown }).code === "string"
          ? (error as { code: string }).code
          : "Error";
      throw error;
    } finally {
      this.telemetry.seconds(Instruments.sessionStoreDuration, performance.now() - started, {
        [Attr.storeOperation]: operation,
        [Attr.storeKind]: this.sessions.kind,
        ...(errorType ? { [Attr.errorType]: errorType } : {}),
      });
    }
  }

  private writeAudit(record: ExecutionAuditRecord): void {
    for (const sink of this.audit) {
      try {
        const written = sink.write(record);
        if (written && typeof (written as Promise<void>).catch === "function")
          (written as Promise<void>).catch(() => {});
      } catch {}
    }
  }

  private redactError(error: OptimizerError): OptimizerError {
    const message = this.redactor.text(error.message);
    if (message === error.message && !error.details) return error;
    const details = error.details
      ? (this.redactor.json(error.details as JsonObject) as Record<string, unknown>)
      : undefined;
    return new OptimizerError(error.code, message, {
      cause: error,
      ...(details ? { details } : {}),
    });
  }

  private closedError(): OptimizerError {
    return new OptimizerError(
      ErrorCodes.OPTIMIZER_CLOSED,
      "The optimizer was closed; create a new one.",
    );
  }
}
