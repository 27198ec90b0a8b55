import {
  type AuditSink,
  checkToolAllowed,
  ErrorCodes,
  MCPOptimizer,
  type MCPOptimizerOptions,
  OptimizerError,
  type RunResult,
  type Sandbox,
  type SandboxConfig,
  type SessionAllowlist,
  type SessionStore,
  type SkillRecord,
  serverGlobalName,
  type Tokenizer,
} from "@mcp-optimizer/core";
import {
  type AssignIssueParams,
  type IssueDigestParams,
  type ReleaseHealthParams,
  type ResolveIssueParams,
  SentryOperations,
  sentryOperationDefinitions,
  type TriageParams,
} from "./operations.js";
import { isSentryAdaptorError, toSentryError } from "./sentry-errors.js";
import { guardSentryGateway } from "./sentry-gateway.js";
import { sentryServerConfig } from "./sentry-upstream.js";
import { installSentrySkills } from "./skills.js";

export interface SentryAdaptorOptions {
  /** Sentry User Auth Token. Required; it stays in the host (the upstream's env or header). */
  accessToken: string;
  /** "stdio" runs the installed @sentry/mcp-server; "http" uses a Streamable HTTP endpoint. Default "stdio". */
  transport?: "stdio" | "http";
  /** Self-hosted Sentry host (`sentry.example.com`, `127.0.0.1:9000`), stdio only. Default sentry.io. */
  host?: string;
  /** Speak http:// to `host` (stdio only). Default false. */
  insecureHttp?: boolean;
  /** URL of the MCP endpoint for transport "http". Default Sentry's hosted https://mcp.sentry.dev/mcp. */
  url?: string;
  /** Command that starts the Sentry MCP server (stdio). Default: this Node running the installed package's bin. */
  command?: { command: string; args?: string[] };
  /** Organization slug used when a call names none. Default: none (calls must name one). */
  organization?: string;
  /** Project slug used when a call names none. Default: none. */
  project?: string;
  /** Pin the server to `organization`/`project` (--organization-slug, --project-slug). Default false. */
  constrain?: boolean;
  /** Sentry MCP skills to grant (--skills). Default: the server's default set. */
  skills?: string[];
  /** The upstream's name in the optimizer (the global programs call). Default "sentry". */
  serverName?: string;
  /** Which tools operations (and sessions opened on `optimizer`) may call, also as the target of execute_sentry_tool; destructive ones need `sentry.update_issue` allowed. Default: everything but update_issue. */
  allow?: SessionAllowlist;
  /** Sandbox instance (wasm, docker, hybrid ... from their packages). Default: core's from `sandboxConfig`. */
  sandbox?: Sandbox;
  /** Sandbox mode and limits. Default: core's (process mode, 30 s, 128 MB). */
  sandboxConfig?: SandboxConfig;
  /** Session store (e.g. Redis). Default: core's in-memory store. */
  sessions?: SessionStore;
  /** Audit sinks (records are redacted). Default: none. */
  audit?: AuditSink | AuditSink[];
  /** Token counter. Default: core's o200k. */
  tokenizer?: Tokenizer;
  /** Limit of one Sentry MCP call in ms. Default 30000. */
  callTimeoutMs?: number;
  /** Limit of one operation in ms. Default: sandboxConfig.maxExecutionTime. */
  timeoutMs?: number;
  /** Retries of an operation Sentry rate-limited (HTTP 429). Default { attempts: 3, baseDelayMs: 1000, maxDelayMs: 10000 }. */
  rateLimitRetry?: { attempts?: number; baseDelayMs?: number; maxDelayMs?: number };
  /** Any other MCPOptimizer option (telemetry via sandboxConfig, pricing, ...). Default none. */
  optimizer?: Omit<
    MCPOptimizerOptions,
    "mcpServers" | "sandbox" | "sessions" | "audit" | "tokenizer"
  >;
}

export interface StackFrame {
  file: string | null;
  line: number | null;
  function: string | null;
  /** The raw frame line when it could not be split into file, line and function. */
  text?: string;
}

export interface TriageIssue {
  id: string;
  title: string;
  events: number | null;
  users: number | null;
  lastSeen: string | null;
  assignedTo: string | null;
  culprit: string | null;
  topFrame: StackFrame | null;
}

export interface TriageResult {
  organization: string;
  project: string;
  period: string;
  issues: TriageIssue[];
}

export interface IssueDigest {
  id: string;
  title: string | null;
  exception: string | null;
  culprit: string | null;
  status: string | null;
  substatus: string | null;
  platform: string | null;
  project: string | null;
  events: number | null;
  users: number | null;
  firstSeen: string | null;
  lastSeen: string | null;
  url: string | null;
  topFrame: StackFrame | null;
  /** Innermost in-app frames first. */
  frames: StackFrame[];
  totalFrames: number;
}

export interface ReleaseHealth {
  organization: string;
  project: string;
  /** null when the project has no release. */
  release: string | null;
  released?: string | null;
  newIssues?: number | null;
  crashFreeSessions?: number | null;
  crashFreeUsers?: number | null;
  totalSessions?: number | null;
  adoption?: number | null;
  adoptionStage?: { environment: string; stage: string | null } | null;
  lastDeploy?: { environment: string | null; finished: string | null } | null;
  unresolvedIssues?: number;
  topIssues?: { id: string; title: string; events: number | null; users: number | null }[];
}

export interface IssueUpdate {
  id: string;
  status: string | null;
  assignedTo: string | null;
}

/** Per-call options of every operation method. */
export interface SentryCallOptions {
  /** Run in this optimizer session (its state and allowlist). Default: a fresh session. */
  sessionId?: string;
  /** Who asked, for the audit trail. Default "sentry-adaptor". */
  actor?: string;
  /** Limit of this call in ms. Default: the adaptor's `timeoutMs`. */
  timeoutMs?: number;
}

/** What every operation method resolves to: the value, plus the run's figures when asked. */
export interface SentryResult<T> {
  value: T;
  run: RunResult;
}

const DEFAULT_ALLOW: SessionAllowlist = { deny: ["sentry.update_issue"] };

/**
 * Sentry through code mode: the real Sentry MCP server as the optimizer's upstream, and one
 * typed method per operation. Each runs as a program in the sandbox, which calls the Sentry
 * tools and returns only the fields the caller needs.
 */
export class SentryAdaptor {
  readonly optimizer: MCPOptimizer;
  readonly serverName: string;
  private readonly options: SentryAdaptorOptions;
  private readonly allow: SessionAllowlist;

  constructor(options: SentryAdaptorOptions) {
    if (typeof options?.accessToken !== "string" || options.accessToken.trim() === "") {
      throw new OptimizerError(
        ErrorCodes.INVALID_CONFIG,
        "accessToken is required: a Sentry User Auth Token.",
      );
    }
    this.options = options;
    this.serverName = options.serverName ?? "sentry";
    if (
      !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(this.serverName) ||
      // Core renames a server that would shadow a reserved word or a guest global.
      serverGlobalName(this.serverName) !== this.serverName
    ) {
      throw new OptimizerError(
        ErrorCodes.INVALID_CONFIG,
        `serverName is a JavaScript identifier that is neither a reserved word nor a sandbox global (the programs call the server by it); got ${JSON.stringify(this.serverName)}.`,
      );
    }
    this.allow =
      options.allow ??
      (this.serverName === "sentry"
        ? DEFAULT_ALLOW
        : { deny: [`${this.serverName}.update_issue`] });
    const server = sentryServerConfig({
      accessToken: options.accessToken,
      transport: options.transport ?? "stdio",
      host: options.host,
      insecureHttp: options.insecureHttp,
      organization: options.organization,
      project: options.project,
      constrain: options.constrain,
      skills: options.skills,
      command: options.command,
      url: options.url,
      callTimeoutMs: options.callTimeoutMs ?? 30_000,
    });
    const extra = options.optimizer ?? {};
    this.optimizer = new MCPOptimizer({
      ...extra,
      mcpServers: { [this.serverName]: server },
      // Belt and braces: config env/headers are secrets already.
      secrets: [...(extra.secrets ?? []), options.accessToken],
      callTimeoutMs: options.callTimeoutMs ?? 30_000,
      requireUpstreams: extra.requireUpstreams ?? true,
      // Sessions the user opens on `optimizer` directly (run(), execute()) get the adaptor's
      // allowlist too, so update_issue stays refused there unless `allow` permits it.
      sessionDefaults: {
        ...extra.sessionDefaults,
        allow: extra.sessionDefaults?.allow ?? this.allow,
      },
      ...(options.sandbox ? { sandbox: options.sandbox } : {}),
      ...(options.sandboxConfig ? { sandboxConfig: options.sandboxConfig } : {}),
      ...(options.sessions ? { sessions: options.sessions } : {}),
      ...(options.audit ? { audit: options.audit } : {}),
      ...(options.tokenizer ? { tokenizer: options.tokenizer } : {}),
    });
    const upstream = this.optimizer.listUpstreams().find((u) => u.name === this.serverName);
    if (upstream) guardSentryGateway(upstream, this.allow);
    for (const definition of sentryOperationDefinitions(this.serverName)) {
      this.optimizer.registerOperation(definition);
    }
  }

  /**
   * Saves the read-only operations as skills (`skills.sentry_triage(input)`) for a tenant
   * (default: the optimizer's), so a model in code mode finds them in search and calls them
   * in one line; saving again only when they changed.
   */
  installSkills(options: { tenant?: string } = {}): Promise<SkillRecord[]> {
    return installSentrySkills(this.optimizer, { server: this.serverName, ...options });
  }

  /** Starts the Sentry MCP server and the sandbox. Optional: the first call does it. */
  async start(): Promise<void> {
    try {
      await this.optimizer.start();
    } catch (error) {
      throw toSentryError(error, "start");
    }
  }

  /** Most frequent unresolved issues of a project in a time window, with their top stack frame. */
  async triage(params: Partial<TriageParams>, options?: SentryCallOptions): Promise<TriageResult> {
    return (await this.triageRun(params, options)).value;
  }

  /** `triage` with the run's figures (tokens, tool calls, duration). */
  triageRun(
    params: Partial<TriageParams>,
    options?: SentryCallOptions,
  ): Promise<SentryResult<TriageResult>> {
    return this.call(SentryOperations.triage, this.scoped(params, true), options);
  }

  /** One issue in brief: counts, dates, exception and innermost in-app frames. */
  async issueDigest(
    params: Partial<IssueDigestParams> & { issueId: string },
    options?: SentryCallOptions,
  ): Promise<IssueDigest> {
    return (
      await this.call<IssueDigest>(
        SentryOperations.issueDigest,
        this.scoped(params, false),
        options,
      )
    ).value;
  }

  /** Health of a release (default: the project's latest). */
  async releaseHealth(
    params: Partial<ReleaseHealthParams>,
    options?: SentryCallOptions,
  ): Promise<ReleaseHealth> {
    return (
      await this.call<ReleaseHealth>(
        SentryOperations.releaseHealth,
        this.scoped(params, true),
        options,
      )
    ).value;
  }

  /** Resolves an issue. Destructive: refused with TOOL_DENIED unless `allow` permits update_issue. */
  async resolveIssue(
    params: Partial<ResolveIssueParams> & { issueId: string },
    options?: SentryCallOptions,
  ): Promise<IssueUpdate> {
    return (
      await this.call<IssueUpdate>(
        SentryOperations.resolveIssue,
        this.scoped(params, false),
        options,
      )
    ).value;
  }

  /** Assigns an issue. Destructive: refused with TOOL_DENIED unless `allow` permits update_issue. */
  async assignIssue(
    params: Partial<AssignIssueParams> & { issueId: string; assignee: string },
    options?: SentryCallOptions,
  ): Promise<IssueUpdate> {
    return (
      await this.call<IssueUpdate>(
        SentryOperations.assignIssue,
        this.scoped(params, false),
        options,
      )
    ).value;
  }

  async close(): Promise<void> {
    await this.optimizer.close();
  }

  private scoped<T extends object>(params: T, withProject: boolean): T {
    const p = (params ?? {}) as Record<string, unknown>;
    const merged: Record<string, unknown> = {
      ...(this.options.organization ? { organization: this.options.organization } : {}),
      ...(withProject && this.options.project ? { project: this.options.project } : {}),
      ...p,
    };
    // A constrained Sentry MCP server silently swaps in its own organization and project;
    // refuse other ones rather than return their data under the wrong name.
    if (this.options.constrain) {
      const keys: ("organization" | "project")[] = withProject
        ? ["organization", "project"]
        : ["organization"];
      for (const key of keys) {
        const pinned = this.options[key];
        if (pinned && merged[key] !== pinned) {
          throw new OptimizerError(
            ErrorCodes.OPERATION_INVALID_PARAMS,
            `This adaptor is constrained to ${key} "${pinned}"; got ${JSON.stringify(merged[key])}.`,
            { details: { [key]: merged[key] } },
          );
        }
      }
    }
    return merged as T;
  }

  private async call<T>(
    operation: string,
    params: unknown,
    options: SentryCallOptions = {},
  ): Promise<SentryResult<T>> {
    const definition = this.optimizer.listOperations().find((o) => o.name === operation);
    if (definition?.destructive) {
      // Refuse before anything runs; the session allowlist enforces it again on the tool call.
      const decision = checkToolAllowed(this.allow, this.serverName, "update_issue");
      if (!decision.allowed) {
        throw new OptimizerError(
          ErrorCodes.TOOL_DENIED,
          `${operation} changes Sentry and is refused: ${decision.reason}. Allow "${this.serverName}.update_issue" in the adaptor's \`allow\` option to permit it.`,
          { details: { operation, destructive: true } },
        );
      }
    }
    const retry = this.options.rateLimitRetry ?? {};
    const attempts = Math.max(1, retry.attempts ?? 3);
    const base = retry.baseDelayMs ?? 1000;
    const max = retry.maxDelayMs ?? 10_000;
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs;
    for (let attempt = 1; ; attempt++) {
      try {
        const run = await this.optimizer.execute({
          operation,
          params,
          allow: this.allow,
          actor: options.actor ?? "sentry-adaptor",
          ...(options.sessionId ? { sessionId: options.sessionId } : {}),
          ...(timeoutMs ? { timeoutMs } : {}),
        });
        return { value: run.value as T, run };
      } catch (error) {
        const mapped = toSentryError(error, operation);
        // The Sentry MCP server does not pass Retry-After on, so back off exponentially.
        if (
          isSentryAdaptorError(mapped) &&
          mapped.code === "SENTRY_RATE_LIMITED" &&
          attempt < attempts
        ) {
          await new Promise((r) => setTimeout(r, Math.min(max, base * 2 ** (attempt - 1))));
          continue;
        }
        throw mapped;
      }
    }
  }
}

/** Creates a SentryAdaptor; nothing starts until the first call (or `start()`). */
export function createSentryAdaptor(options: SentryAdaptorOptions): SentryAdaptor {
  return new SentryAdaptor(options);
}
