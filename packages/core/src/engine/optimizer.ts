import { ApprovalBook, type DryRunCall } from "../approvals/approval-book.js";
import {
  type ApprovalOptions,
  DEFAULT_APPROVAL_TTL_MS,
  resolveApprovals,
} from "../approvals/approval-policy.js";
import { approvalsApi, type OptimizerApprovals } from "../approvals/approvals-api.js";
import type { EffectPlan } from "../approvals/effect-plan.js";
import { createRedactor, type Redactor } from "../audit/redactor.js";
import { type SearchHit, ToolCatalog, type ToolDescription } from "../catalog/tool-catalog.js";
import { parseMcpServers, parseSandboxConfig } from "../config/parse-config.js";
import type { ResolvedSandboxConfig, SandboxConfig } from "../config/schema.js";
import {
  type ContextLimits,
  type ContextScope,
  createPrincipalContext,
  type PrincipalContext,
  resolveContextLimits,
} from "../context/principal-context.js";
import type { AuditSink } from "../contracts/audit-sink.js";
import type {
  ExecutionHints,
  LogEntry,
  Sandbox,
  SandboxCapabilities,
} from "../contracts/sandbox.js";
import type {
  SessionAllowlist,
  SessionRecord,
  SessionStore,
  SessionToolCallLog,
} from "../contracts/session-store.js";
import type { Tokenizer } from "../contracts/tokenizer.js";
import type { Upstream, UpstreamInfo } from "../contracts/upstream.js";
import { ErrorCodes, OptimizerError } from "../errors.js";
import { EngineFeatures, type FeatureChange } from "../features/engine-features.js";
import {
  FEATURES,
  type FeatureName,
  type FeatureSettings,
  type FeatureState,
  featureDisabled,
} from "../features/feature-flags.js";
import type { JsonValue } from "../json.js";
import { type CallMemo, createCallMemo, memoSettings } from "../memo/call-memo.js";
import { createMemoryCallCache } from "../memo/memory-call-cache.js";
import { type PrivacyOptions, resolvePrivacy } from "../privacy/privacy-options.js";
import type { ResultHandleOptions } from "../results/result-handles.js";
import { loadSandbox } from "../sandbox/load-sandbox.js";
import type { ProcessSandboxOptions } from "../sandbox/process/process-sandbox.js";
import {
  checkMetaToolSettings,
  DEFAULT_MAX_META_TOOL_TOKENS,
  type InlineApiSetting,
  type MetaToolDefinition,
  servedMetaTools,
} from "../server/meta-tools.js";
import { loadSessionStore } from "../sessions/load-session-store.js";
import { MemorySessionStore } from "../sessions/memory-session-store.js";
import { assertSessionId } from "../sessions/session-data.js";
import { SkillBook } from "../skills/skill-book.js";
import { SkillRuntime, withSkillHits } from "../skills/skill-runtime.js";
import { type OptimizerSkills, skillsApi } from "../skills/skills-api.js";
import { Attr, Instruments, Telemetry } from "../telemetry/instruments.js";
import {
  assertEncodingSetting,
  type EncodedForModel,
  encodeForModel,
  type ModelEncoding,
  type ModelEncodingSetting,
} from "../tokens/model-encoding.js";
import { createO200kTokenizer } from "../tokens/o200k-tokenizer.js";
import { createPricing, type Pricing, type PricingOptions } from "../tokens/pricing.js";
import { type TokenFigures, toolDefinitionsText } from "../tokens/token-accounting.js";
import { McpUpstream, type UpstreamEvent } from "../upstream/mcp-upstream.js";
import type { EngineParts, ExecutionSettings } from "./execution/engine-parts.js";
import { planEffects, serversNamed } from "./execution/plan-effects.js";
import { runExecution } from "./execution/run-execution.js";
import { SessionQueue } from "./execution/session-queue.js";
import {
  DEFAULT_LEASE_TTL_MS,
  DEFAULT_LEASE_WAIT_MS,
  type SessionLeaseSettings,
} from "./execution/session-turn.js";
import { ValidatorCache } from "./execution-host.js";
import {
  type OperationDefinition,
  type RegisteredOperation,
  registerOperation,
} from "./operations.js";
import { assertAllowlist } from "./policy.js";
import type { RetryOptions } from "./retry.js";
import { SandboxRunners } from "./sandbox-runners.js";
import { StoreStatsProbe } from "./store-stats-probe.js";
import { compileProgram, type Program } from "./transpile.js";
import { UpstreamSet } from "./upstream-set.js";

export interface MCPOptimizerOptions {
  /** Sandbox mode and limits (the brief's SandboxConfig). Default: process mode, 30 s, 128 MB. */
  sandboxConfig?: SandboxConfig;
  /** Any Sandbox to use instead of the one `sandboxConfig.mode` names. */
  sandbox?: Sandbox;
  /** Where sessions live. Default: Redis when `sandboxConfig.redisUrl` is set (@mcp-optimizer/sessions-redis), else a new MemorySessionStore. */
  sessions?: SessionStore;
  /**
   * Memoised read-only calls (createCallMemo with a CallCache, e.g. sessions-redis's to share it
   * between replicas). Default: when a server in mcpServers sets `memo`, one over a memory cache.
   */
  memo?: CallMemo;
  /**
   * Personal data as tokens in all the model reads, and where sensitive tools' data may flow
   * (docs/privacy.md). Default: off.
   */
  privacy?: PrivacyOptions;
  /**
   * A result over the token budget is kept behind a handle (`mcp.handle(id)`) and described
   * (shape, counts, statistics, a sample) instead of cut. `false` cuts it. Default: on, 1 h, 4 MiB.
   */
  resultHandles?: false | ResultHandleOptions;
  /**
   * Feature flags: optional parts on or off (docs/features.md). A boolean, or `{ value, source }`
   * to say where it came from ("config", "environment", "tenant"). Default: every flag's default.
   */
  features?: FeatureSettings;
  /** Size caps and default TTL of each principal's `context`. Default: 1 MiB, 1000 keys, 30 days. */
  context?: ContextLimits;
  /** How executions of one session take turns (ADR 0017). Default: 15 s lease, 30 s wait. */
  sessionLease?: SessionLeaseSettings;
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
  /**
   * How a result is written for the model: "auto" takes whichever of compact JSON, TOON and
   * plain text (a string) costs the fewest tokens by `tokenizer` and decodes to the same value;
   * "json", "toon" or "text" force one where it is faithful. Default "auto".
   */
  resultEncoding?: ModelEncodingSetting;
  /**
   * Ceiling of the meta-tool definitions (execute_code, search_tools) in tokens: the server list
   * gets terser (shorter descriptions, then names only) to stay within it. Default 350.
   */
  maxMetaToolTokens?: number;
  /**
   * Offer the connected servers' typed API (one signature a tool) inline in execute_code's
   * description: "on", "auto" (when it costs fewer tokens than one search round trip) or
   * "off". Default "off": the definitions stay within maxMetaToolTokens.
   */
  inlineApi?: InlineApiSetting;
  /** Largest result plus state a program may return, in bytes. Default 4 MiB. */
  maxOutputBytes?: number;
  /** Console output kept per execution, in bytes. Default 64 KiB. */
  maxLogBytes?: number;
  /** Defaults of new sessions. Default: tenant "default", TTL 1 h, everything allowed, principal "default". */
  sessionDefaults?: {
    tenant?: string;
    ttlMs?: number;
    allow?: SessionAllowlist;
    /** Whose `context` a run without `principal` uses. Default "default". */
    principal?: string;
  };
  /** Retries for tools annotated read-only or idempotent. Default 3 attempts from 100 ms. */
  retry?: RetryOptions;
  /** Upper bound of one upstream call in ms. Default: the server's `timeout`, else 60000. */
  callTimeoutMs?: number;
  /** Tool calls one execution may make; the next one fails with QUOTA_EXCEEDED. Default: no limit. */
  maxToolCallsPerExecution?: number;
  /** Price table and model for cost estimates. Default: claude-sonnet-4 list price. */
  pricing?: PricingOptions;
  /** More values to scrub from logs, audit records and results (config env/headers are added). */
  secrets?: string[];
  /** Variables for `${VAR}` in mcpServers. Default: process.env. */
  env?: Record<string, string | undefined>;
  /** Whether tool arguments appear in audit records (redacted of secrets). Default true. */
  auditArguments?: boolean;
  /** How often the store's stats (stored bytes, items, evictions metrics) are re-read at most, in ms. Default 60000. */
  storeStatsIntervalMs?: number;
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
  /**
   * Approvals before side effects: a program whose effect plan reaches tools these rules ask
   * about runs only after a person approves it (docs/approvals-and-skills.md). Default: off;
   * the CLI's `init` writes `{ "ask": "destructive" }`.
   */
  approvals?: ApprovalOptions | false;
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
  /** Whose `context` the program reads and writes (with the session's tenant). Default: sessionDefaults.principal. */
  principal?: string;
  /** Wall-clock limit for this execution in ms. Default: sandboxConfig.maxExecutionTime. */
  timeoutMs?: number;
  /** Routing hints for a hybrid sandbox, merged over what the engine infers. */
  hints?: ExecutionHints;
  /**
   * Read-only tools run for real; every other call is recorded and answered with a placeholder
   * (`{ dryRun: true, tool }`) instead of being made. The result lists the calls (`dryRun.calls`);
   * the session's state is not changed. Default false.
   */
  dryRun?: boolean;
  /** Run under this approval (an id from APPROVAL_REQUIRED that a person approved). Default: none. */
  approval?: string;
}

export interface ToolCallSummary extends SessionToolCallLog {}

export interface RunResult {
  /** The program's return value. */
  value: JsonValue | undefined;
  /** What the model sees: the value and console output, cut to the token budget. */
  text: string;
  /** How the value is written in `text` (undefined when the program returned nothing). */
  encoding?: ModelEncoding;
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
  /** The handle the full result was kept behind when it was over the token budget (`mcp.handle`). */
  handle?: string;
  /** What the program could reach, read before it ran (docs/approvals-and-skills.md). */
  plan?: EffectPlan;
  /** A dry run: every call the program made, and whether it ran (read-only) or got a placeholder. */
  dryRun?: { calls: DryRunCall[] };
  /** The approval it ran under. */
  approvalId?: string;
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
  /** Every feature flag: its value and where the value came from. */
  features: FeatureState[];
}

/**
 * The optimizer: many MCP servers behind one code execution interface. Programs run in a
 * sandbox, call upstream tools through the bridge, and only their result reaches the model.
 */
export class MCPOptimizer {
  readonly config: ResolvedSandboxConfig;
  readonly catalog = new ToolCatalog();
  private readonly options: MCPOptimizerOptions;
  private readonly settings: ExecutionSettings;
  private readonly queue = new SessionQueue();
  private readonly memo: CallMemo | undefined;
  private store: SessionStore | undefined;
  private parts: EngineParts | undefined;
  private readonly upstreams: UpstreamSet;
  private readonly redactor: Redactor;
  private readonly audit: AuditSink[];
  private readonly telemetry: Telemetry;
  private readonly validators = new ValidatorCache();
  private readonly operations = new Map<string, RegisteredOperation>();
  private readonly runners: SandboxRunners;
  private readonly pricing: Pricing;
  /** The session store's stats for the metrics, re-read at most once an interval. */
  private readonly storeStats: StoreStatsProbe;
  /** The feature flags; they can change while the optimizer runs (setFeatures). */
  private readonly flags: EngineFeatures;
  private sandbox: Sandbox | undefined;
  private tokenizer: Tokenizer | undefined;
  private starting: Promise<void> | undefined;
  private closed = false;
  private metaTools: { version: number; tools: MetaToolDefinition[]; tokens: number } | undefined;
  private books: { approvals: ApprovalBook; skills: SkillRuntime } | undefined;
  /** Pending approvals: list, approve, reject (CLI, HTTP endpoint, apps). */
  readonly approvals: OptimizerApprovals;
  /** Saved skills: save, get, list, versions, delete. */
  readonly skills: OptimizerSkills;
  private plainDefinitions: { version: number; tokens: number } | undefined;

  constructor(options: MCPOptimizerOptions = {}) {
    this.options = options;
    this.config = parseSandboxConfig(options.sandboxConfig);
    const { servers, secrets } = parseMcpServers(
      options.mcpServers ?? {},
      options.env ? { env: options.env } : {},
    );
    this.redactor = createRedactor([
      ...secrets,
      ...(options.secrets ?? []),
      // The vault key is a credential like any other: it never leaves the host.
      ...(options.privacy?.vaultKey ? [options.privacy.vaultKey] : []),
    ]);
    this.settings = resolveSettings(options);
    if (options.sessions && this.config.redisUrl) {
      throw new OptimizerError(
        ErrorCodes.INVALID_CONFIG,
        "Both `sessions` and `sandboxConfig.redisUrl` are set: pass one (redisUrl makes a Redis store for you).",
      );
    }
    // With redisUrl the Redis store is imported by package name in start().
    if (!this.config.redisUrl) this.store = options.sessions ?? new MemorySessionStore();
    this.audit =
      options.audit === undefined
        ? []
        : Array.isArray(options.audit)
          ? options.audit
          : [options.audit];
    this.flags = new EngineFeatures(
      options.features,
      this.audit,
      this.settings.sessionDefaults.tenant,
    );
    this.telemetry = new Telemetry({
      metrics: this.config.enableMetrics,
      traces: this.config.enableTelemetry,
      redact: this.redactor.text,
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
    this.memo =
      options.memo ??
      (Object.values(servers).some((s) => s.memo)
        ? createCallMemo({
            cache: createMemoryCallCache(),
            servers: memoSettings(servers),
            telemetry: this.telemetry,
          })
        : undefined);
    this.telemetry.observeSandboxSessions(() => this.runners.size);
    this.telemetry.observeSandboxPool(() => this.sandbox?.poolStats?.());
    this.storeStats = new StoreStatsProbe(() => this.store, options.storeStatsIntervalMs ?? 60_000);
    this.telemetry.observeStore(() => this.storeStats.current());
    this.pricing = createPricing(options.pricing);
    if (options.sandbox) this.sandbox = options.sandbox;
    const tenant = this.settings.sessionDefaults.tenant;
    this.approvals = approvalsApi(async () => (await this.entryBooks()).approvals, tenant);
    this.skills = skillsApi(async () => {
      if (!this.flags.on("skills")) throw featureDisabled("skills", "Saving and reading skills");
      return { skills: (await this.entryBooks()).skills, sessions: this.sessions };
    }, tenant);
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

  /** Where sessions live (with `sandboxConfig.redisUrl`, available once start() has run). */
  get sessions(): SessionStore {
    if (!this.store) {
      throw new OptimizerError(
        ErrorCodes.INVALID_INPUT,
        "The Redis session store named by sandboxConfig.redisUrl is loaded by start(): await optimizer.start() first.",
      );
    }
    return this.store;
  }

  private async doStart(): Promise<void> {
    if (!this.store && this.config.redisUrl)
      this.store = await loadSessionStore({ redisUrl: this.config.redisUrl });
    const sandbox = this.sandbox
      ? Promise.resolve(this.sandbox)
      : loadSandbox(this.config, {
          ...(this.options.processSandbox ? { process: this.options.processSandbox } : {}),
          modeEnabled: (mode) => modeEnabled(this.flags, mode),
        });
    // The sandbox first: a sandbox starts its pool when it is created, and loading the
    // tokenizer holds the event loop for ~150-300 ms, during which a plug-in's import would
    // wait. The tokenizer waits for the sandbox (at most SANDBOX_HEAD_START_MS), so that the
    // pool boots beside it and the first execution after start() finds a ready runner.
    const tokenizer = this.options.tokenizer
      ? Promise.resolve(this.options.tokenizer)
      : settledOrAfter(sandbox, SANDBOX_HEAD_START_MS).then(() => createO200kTokenizer());
    const [tok, box] = await Promise.all([tokenizer, sandbox, this.upstreams.connectAll()]);
    this.tokenizer = tok;
    this.sandbox = box;
    if (this.config.enableMetrics) void this.storeStats.refresh();
  }

  /** Runs a program (TypeScript or JavaScript) and returns its shaped result. */
  async run(code: string, options: RunOptions = {}): Promise<RunResult> {
    await this.startEngine();
    const program = await compileProgram(code);
    return this.runProgram(program, code, "run", undefined, options);
  }

  /**
   * The effect plan of a program, without running it: the tools it can reach with their
   * annotations, how often and with which literal arguments, what it reaches through skills and
   * under names computed at run time, and whether the approval policy asks a person first.
   */
  async plan(
    code: string,
    options: { sessionId?: string; tenant?: string; allow?: SessionAllowlist } = {},
  ): Promise<EffectPlan> {
    await this.startEngine();
    const program = await compileProgram(code);
    const record = await this.readSession(options.sessionId);
    const tenant = record?.tenant ?? options.tenant ?? this.settings.sessionDefaults.tenant;
    const { skills } = await this.entryBooks();
    await this.upstreams.whenAllReady(serversNamed(program));
    return planEffects(this.catalog, {
      program,
      text: code,
      allow: record?.allow ?? options.allow ?? this.settings.sessionDefaults.allow,
      rules: this.settings.approvals?.rules(tenant),
      whenReady: (servers) => this.upstreams.whenAllReady(servers),
      skill: (name, version) => skills.forPlan(tenant, name, version),
    });
  }

  /**
   * Runs a program a person approved (APPROVAL_REQUIRED gave its id), in the session it was
   * asked in. An approval runs once; APPROVAL_DENIED when it was rejected.
   */
  async resume(
    approvalId: string,
    options: Pick<RunOptions, "tenant" | "principal" | "actor" | "timeoutMs"> = {},
  ): Promise<RunResult> {
    await this.startEngine();
    const tenant = options.tenant ?? this.settings.sessionDefaults.tenant;
    const record = await this.approvals.get(approvalId, { tenant });
    if (!record) {
      throw new OptimizerError(
        ErrorCodes.APPROVAL_NOT_FOUND,
        `No approval "${approvalId}" for tenant "${tenant}": it expired, was used, or never existed. Run the program again to ask anew.`,
        { details: { approvalId } },
      );
    }
    const program = await compileProgram(record.code);
    return this.runProgram(program, record.code, "run", undefined, {
      ...options,
      tenant: record.tenant,
      sessionId: record.sessionId,
      approval: approvalId,
    });
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
      // A saved skill runs by name too: its input is checked against its schema when called.
      const skill = await this.findSkill(options.operation, options.tenant);
      if (skill) {
        const text = `return await skills.${skill}(${JSON.stringify(options.params ?? {})});`;
        const program = await compileProgram(text);
        const asOperation: RegisteredOperation = {
          name: options.operation,
          code: `return await skills.${skill}(params);`,
          validate: async (p) => p as never,
        };
        return this.runProgram(program, text, "operation", asOperation, options);
      }
      const known = [...this.operations.keys()];
      throw new OptimizerError(
        ErrorCodes.OPERATION_NOT_FOUND,
        `No operation or skill "${options.operation}". Registered: ${known.join(", ") || "none"}; skills: see optimizer.skills.list().`,
      );
    }
    const params = await op.validate(options.params);
    if (op.tool) {
      const dot = op.tool.indexOf(".");
      const toolCode = `return await mcp.call(${JSON.stringify(op.tool.slice(0, dot))}, ${JSON.stringify(op.tool.slice(dot + 1))}, params);`;
      const program = await compileProgram(
        `const params = ${JSON.stringify(params)};\n${toolCode}`,
      );
      return this.runProgram(program, toolCode, "operation", op, options, {
        text: `const params = ${JSON.stringify(params)};\n${toolCode}`,
      });
    }
    const text = `const params = ${JSON.stringify(params)};\n${op.code}`;
    const program = await compileProgram(text);
    return this.runProgram(program, op.code!, "operation", op, options, { text });
  }

  /**
   * Ranked search over the tools a session may call (its allowlist; without a session, the
   * default one), for the model-facing server and the CLI.
   */
  async search(
    query: string,
    options: {
      limit?: number;
      detail?: "name" | "signature" | "full";
      server?: string;
      sessionId?: string;
      /** The tenant whose skills are listed too. Default: the session's, else sessionDefaults.tenant. */
      tenant?: string;
    } = {},
  ): Promise<SearchHit[]> {
    await this.start();
    const { sessionId, tenant, ...rest } = options;
    const record = await this.readSession(sessionId);
    const limit = Math.min(Math.max(Math.trunc(rest.limit ?? 10), 1), 50);
    // The tenant the session's runs record their calls under (the session's, else the one it
    // will be created with): search_tools then execute_code teaches like mcp.search in a program.
    const sessionTenant = record?.tenant ?? tenant ?? this.settings.sessionDefaults.tenant;
    const { skills } = await this.entryBooks();
    // Skills that match are listed first: a person chose to keep them.
    const skillHits =
      this.flags.on("skills") && (rest.server === undefined || rest.server === "skills")
        ? await skills.search(sessionTenant, query, {
            limit,
            ...(rest.detail ? { detail: rest.detail } : {}),
          })
        : [];
    if (rest.server === "skills") return skillHits;
    const hits = await this.catalog.search(query, {
      ...rest,
      allow: record?.allow ?? this.settings.sessionDefaults.allow,
      tenant: sessionTenant,
      ...(sessionId !== undefined ? { sessionId } : {}),
    });
    return withSkillHits(hits, skillHits, limit);
  }

  /** One tool's description; TOOL_DENIED for a tool the session's allowlist denies. */
  async describe(name: string, options: { sessionId?: string } = {}): Promise<ToolDescription> {
    await this.start();
    return this.catalog.describe(name, await this.discoveryAllowlist(options.sessionId));
  }

  /**
   * What discovery may show for a session: its own allowlist when it exists, else the default
   * of new sessions. A read: it takes no turn.
   */
  async discoveryAllowlist(sessionId?: string): Promise<SessionAllowlist> {
    if (sessionId !== undefined) {
      assertSessionId(sessionId);
      const record = await this.timedStore("get", () => this.sessions.get(sessionId));
      if (record) return record.allow;
    }
    return this.settings.sessionDefaults.allow;
  }

  /** The meta-tools the model sees (execute_code, search_tools) and what they cost in tokens. */
  async metaToolDefinitions(): Promise<{ tools: MetaToolDefinition[]; tokens: number }> {
    await this.startEngine();
    return this.currentMetaTools();
  }

  /**
   * Writes a value for the model in the configured `resultEncoding` (by default the cheapest
   * faithful of compact JSON, TOON and `text`, a plain-text rendering the caller may offer),
   * counted with the configured tokenizer: search listings and anything else model-facing.
   */
  async encodeForModel(value: JsonValue, text?: string): Promise<EncodedForModel> {
    await this.startEngine();
    return encodeForModel(value, {
      tokenizer: this.tokenizer!,
      encoding: this.settings.resultEncoding,
      ...(text !== undefined ? { text } : {}),
    });
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
      features: this.flags.list(),
    };
  }

  /**
   * A principal's context: keys shared by all of that principal's sessions (in a tenant),
   * the same ones programs see as `context`. FEATURE_DISABLED when the `context` flag is off.
   */
  async context(scope: ContextScope): Promise<PrincipalContext> {
    await this.startEngine();
    if (!this.flags.on("context")) throw featureDisabled("context", "optimizer.context()");
    return createPrincipalContext({
      entries: this.sessions.entries,
      tenant: scope.tenant ?? this.settings.sessionDefaults.tenant,
      principal: scope.principal,
      ...this.settings.context,
    });
  }

  /** Every feature flag: its value and where it came from. */
  get features(): FeatureState[] {
    return this.flags.list();
  }

  /** Whether a feature flag is on now. */
  featureOn(name: FeatureName): boolean {
    return this.flags.on(name);
  }

  /**
   * Replaces the feature flags while running (a config reload): flags not named go back to
   * their defaults. Each change is audited under `actor`; a change that takes a restart (a
   * sandbox mode) is refused with INVALID_CONFIG and nothing changes.
   */
  setFeatures(settings: FeatureSettings, options: { actor?: string } = {}): FeatureChange[] {
    return this.flags.set(settings, options.actor ?? "api");
  }

  /** The upstreams by name (connected or not). */
  listUpstreams(): Upstream[] {
    return this.upstreams.list();
  }

  /** Closes a session's sandbox runner and deletes the session. */
  async deleteSession(sessionId: string): Promise<boolean> {
    assertSessionId(sessionId);
    await this.start();
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
    if (!this.options.sessions) await this.store?.close();
    if (!this.options.memo) await this.memo?.close().catch(() => {});
  }

  private async runProgram(
    program: Program,
    source: string,
    kind: "run" | "operation",
    op: RegisteredOperation | undefined,
    options: RunOptions,
    extra: { text?: string } = {},
  ): Promise<RunResult> {
    if (this.closed) throw this.closedError();
    await this.entryBooks();
    return runExecution(this.engineParts(), { program, source, kind, op, options, ...extra });
  }

  /** Approvals and skills on the session store's entries (available once the store is). */
  private async entryBooks(): Promise<{ approvals: ApprovalBook; skills: SkillRuntime }> {
    if (!this.books) {
      await this.startEngine();
      const entries = this.sessions.entries;
      this.books ??= {
        approvals: new ApprovalBook(
          entries,
          this.settings.approvals?.ttlMs ?? DEFAULT_APPROVAL_TTL_MS,
        ),
        skills: new SkillRuntime(new SkillBook(entries)),
      };
    }
    return this.books;
  }

  /** A session's record for discovery and plans (a read: no turn taken); undefined without an id. */
  private async readSession(sessionId: string | undefined): Promise<SessionRecord | undefined> {
    if (sessionId === undefined) return undefined;
    assertSessionId(sessionId);
    return this.timedStore("get", () => this.sessions.get(sessionId));
  }

  /** The skill `execute({ operation })` names, when it is one; undefined otherwise. */
  private async findSkill(name: string, tenant: string | undefined): Promise<string | undefined> {
    if (!/^[A-Za-z_$][A-Za-z0-9_$]{0,63}$/.test(name)) return undefined;
    const { skills } = await this.entryBooks();
    const record = await skills.book.find(tenant ?? this.settings.sessionDefaults.tenant, name);
    return record?.name;
  }

  /** The parts an execution's steps work with (after start()). */
  private engineParts(): EngineParts {
    this.parts ??= {
      config: this.config,
      settings: this.settings,
      catalog: this.catalog,
      upstreams: this.upstreams.byName,
      sessions: this.sessions,
      queue: this.queue,
      runners: this.runners,
      sandboxMode: this.sandbox!.mode,
      redactor: this.redactor,
      audit: this.audit,
      telemetry: this.telemetry,
      tokenizer: this.tokenizer!,
      pricing: this.pricing,
      validators: this.validators,
      metaToolTokens: () => this.currentMetaTools().tokens,
      plainDefinitionTokens: () => this.plainDefinitionTokens(),
      timedStore: (operation, fn) => this.timedStore(operation, fn),
      memo: this.memo,
      approvalBook: this.settings.approvals ? this.books?.approvals : undefined,
      skills: this.books?.skills,
      features: this.flags,
      whenUpstreamReady: (server) => this.upstreams.whenReady(server),
      whenUpstreamsReady: (servers) => this.upstreams.whenAllReady(servers),
    };
    return this.parts;
  }

  private onUpstreamEvent(event: UpstreamEvent): void {
    if (event.type === "connected" && event.reconnect)
      this.telemetry.count(Instruments.upstreamReconnects, 1, { [Attr.server]: event.server });
    this.upstreams.onEvent(event);
    this.options.onUpstreamEvent?.(event);
  }

  private currentMetaTools(): { tools: MetaToolDefinition[]; tokens: number } {
    if (!this.metaTools || this.metaTools.version !== this.catalog.version) {
      const count = (text: string) => this.tokenizer!.count(text);
      const servers = this.catalog.visibleServers(this.settings.sessionDefaults.allow);
      const tools = servedMetaTools(servers, {
        maxResultTokens: this.settings.maxResultTokens,
        maxTokens: this.settings.maxMetaToolTokens,
        inlineApi: this.settings.inlineApi,
        signatures: () => servers.flatMap((s) => s.tools.map((t) => this.catalog.signature(t))),
        count,
        approvals: this.settings.approvals !== undefined,
      });
      this.metaTools = {
        version: this.catalog.version,
        tools,
        tokens: count(JSON.stringify(tools)),
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

  private closedError(): OptimizerError {
    return new OptimizerError(
      ErrorCodes.OPTIMIZER_CLOSED,
      "The optimizer was closed; create a new one.",
    );
  }
}

/** The settings one execution reads, with their defaults. */
function resolveSettings(options: MCPOptimizerOptions): ExecutionSettings {
  const defaults = options.sessionDefaults ?? {};
  const lease = {
    ttlMs: options.sessionLease?.ttlMs ?? DEFAULT_LEASE_TTL_MS,
    waitMs: options.sessionLease?.waitMs ?? DEFAULT_LEASE_WAIT_MS,
  };
  if (!Number.isInteger(lease.ttlMs) || lease.ttlMs < 100) {
    throw new OptimizerError(
      ErrorCodes.INVALID_CONFIG,
      `sessionLease.ttlMs is an integer of at least 100 ms; got ${lease.ttlMs}.`,
    );
  }
  if (!Number.isInteger(lease.waitMs) || lease.waitMs < 0) {
    throw new OptimizerError(
      ErrorCodes.INVALID_CONFIG,
      `sessionLease.waitMs is an integer of 0 ms or more; got ${lease.waitMs}.`,
    );
  }
  const resultEncoding = options.resultEncoding ?? "auto";
  assertEncodingSetting(resultEncoding);
  const maxMetaToolTokens = options.maxMetaToolTokens ?? DEFAULT_MAX_META_TOOL_TOKENS;
  const inlineApi = options.inlineApi ?? "off";
  checkMetaToolSettings(maxMetaToolTokens, inlineApi);
  if (defaults.allow !== undefined) assertAllowlist(defaults.allow, "sessionDefaults.allow");
  const maxToolCalls = options.maxToolCallsPerExecution;
  if (maxToolCalls !== undefined && (!Number.isInteger(maxToolCalls) || maxToolCalls < 0)) {
    throw new OptimizerError(
      ErrorCodes.INVALID_CONFIG,
      `maxToolCallsPerExecution is an integer of 0 or more; got ${maxToolCalls}.`,
    );
  }
  return {
    maxResultTokens: options.maxResultTokens ?? 8000,
    resultEncoding,
    maxMetaToolTokens,
    inlineApi,
    maxOutputBytes: options.maxOutputBytes ?? 4 * 1024 * 1024,
    maxLogBytes: options.maxLogBytes ?? 64 * 1024,
    retry: options.retry ?? {},
    callTimeoutMs: options.callTimeoutMs,
    maxToolCalls,
    auditArguments: options.auditArguments ?? true,
    sessionDefaults: {
      tenant: defaults.tenant ?? "default",
      ttlMs: defaults.ttlMs,
      allow: defaults.allow ?? {},
      principal: defaults.principal ?? "default",
    },
    // Checked here, so a wrong cap fails the constructor, not the first write.
    context: resolveContextLimits(options.context ?? {}),
    lease,
    resultHandles: options.resultHandles === false ? false : (options.resultHandles ?? {}),
    privacy: resolvePrivacy(options.privacy),
    approvals: resolveApprovals(options.approvals),
  };
}

/** How long start() lets the sandbox load before it loads the tokenizer, ms. */
const SANDBOX_HEAD_START_MS = 100;

/** Resolves when `promise` settles (either way) or after `ms`, whichever comes first. */
function settledOrAfter(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    promise.then(done, done);
  });
}

/** Whether a sandbox mode may run: its `sandbox.<mode>` flag; modes without a flag (hybrid) may. */
function modeEnabled(flags: EngineFeatures, mode: string): boolean {
  const flag = `sandbox.${mode}`;
  return !Object.hasOwn(FEATURES, flag) || flags.on(flag as FeatureName);
}
