import type { ApprovalBook } from "../../approvals/approval-book.js";
import type { ResolvedApprovals } from "../../approvals/approval-policy.js";
import type { Redactor } from "../../audit/redactor.js";
import type { ToolCatalog } from "../../catalog/tool-catalog.js";
import type { ResolvedSandboxConfig } from "../../config/schema.js";
import type { ContextLimits } from "../../context/principal-context.js";
import type { AuditSink } from "../../contracts/audit-sink.js";
import type { SessionAllowlist, SessionStore } from "../../contracts/session-store.js";
import type { Tokenizer } from "../../contracts/tokenizer.js";
import type { Upstream } from "../../contracts/upstream.js";
import type { EngineFeatures } from "../../features/engine-features.js";
import type { CallMemo } from "../../memo/call-memo.js";
import type { ResolvedPrivacy } from "../../privacy/privacy-options.js";
import type { ResultHandleOptions } from "../../results/result-handles.js";
import type { InlineApiSetting } from "../../server/meta-tools.js";
import type { SkillRuntime } from "../../skills/skill-runtime.js";
import type { Telemetry } from "../../telemetry/instruments.js";
import type { ModelEncodingSetting } from "../../tokens/model-encoding.js";
import type { Pricing } from "../../tokens/pricing.js";
import type { ValidatorCache } from "../execution-host.js";
import type { RetryOptions } from "../retry.js";
import type { SandboxRunners } from "../sandbox-runners.js";
import type { SessionQueue } from "./session-queue.js";
import type { SessionLeaseSettings } from "./session-turn.js";

/** The settings one execution reads, resolved from the optimizer's options with their defaults. */
export interface ExecutionSettings {
  maxResultTokens: number;
  /** How results are written for the model: the cheapest faithful encoding, or a forced one. */
  resultEncoding: ModelEncodingSetting;
  /** Ceiling of the meta-tool definitions in tokens. */
  maxMetaToolTokens: number;
  /** Whether the typed API is offered inline in execute_code's description. */
  inlineApi: InlineApiSetting;
  maxOutputBytes: number;
  maxLogBytes: number;
  retry: RetryOptions;
  callTimeoutMs: number | undefined;
  /** Tool calls one execution may make; undefined: no limit. */
  maxToolCalls?: number | undefined;
  auditArguments: boolean;
  sessionDefaults: {
    tenant: string;
    ttlMs: number | undefined;
    allow: SessionAllowlist;
    /** Whose `context` a run without a principal uses. */
    principal: string;
  };
  /** Size caps and default TTL of each principal's `context`. */
  context: ContextLimits;
  lease: Required<SessionLeaseSettings>;
  /** Results over the budget kept behind handles (false: cut instead). */
  resultHandles: ResultHandleOptions | false;
  /** Personal-data tokens and sensitive-data flows; undefined when off. */
  privacy: ResolvedPrivacy | undefined;
  /** Approvals before side effects; undefined when off. */
  approvals?: ResolvedApprovals | undefined;
}

/** What the steps of an execution work with: the optimizer's parts, after start(). */
export interface EngineParts {
  config: ResolvedSandboxConfig;
  settings: ExecutionSettings;
  catalog: ToolCatalog;
  upstreams: ReadonlyMap<string, Upstream>;
  sessions: SessionStore;
  queue: SessionQueue;
  runners: SandboxRunners;
  /** The sandbox's own mode name (a failure before any runner answered is reported with it). */
  sandboxMode: string;
  redactor: Redactor;
  audit: readonly AuditSink[];
  telemetry: Telemetry;
  tokenizer: Tokenizer;
  pricing: Pricing;
  validators: ValidatorCache;
  /** Memoised read-only calls, when any server opted in. */
  memo: CallMemo | undefined;
  /** Pending and given approvals (in the session store's entries); undefined when approvals are off. */
  approvalBook?: ApprovalBook | undefined;
  /** Saved skills (in the session store's entries). */
  skills?: SkillRuntime | undefined;
  /** The feature flags, read when a part is used (they can change while the engine runs). */
  features: EngineFeatures;
  /** Tokens of the meta-tool definitions the model sees now. */
  metaToolTokens(): number;
  /** Tokens every upstream tool definition would cost over plain MCP. */
  plainDefinitionTokens(): number;
  /** Runs a store operation with its duration recorded. */
  timedStore<T>(operation: string, fn: () => Promise<T>): Promise<T>;
  /** Resolves when the server has started (or its start failed); a call to it waits here. */
  whenUpstreamReady(server: string): Promise<void>;
  /** Resolves when every named server that is still starting has started or failed. */
  whenUpstreamsReady(servers: Iterable<string>): Promise<void>;
}
