export {
  ApprovalBook,
  type ApprovalDecisionInput,
  type ApprovalRecord,
  type ApprovalStatus,
  type DryRunCall,
} from "./approvals/approval-book.js";
export {
  type ApprovalOptions,
  type ApprovalRules,
  DEFAULT_APPROVAL_TTL_MS,
  needsApproval,
  type ResolvedApprovalRules,
  resolveApprovals,
} from "./approvals/approval-policy.js";
export {
  type ApprovalDecisionOptions,
  type ApprovalListOptions,
  createApprovalBook,
  type OptimizerApprovals,
} from "./approvals/approvals-api.js";
export {
  describePlan,
  type EffectPlan,
  type PlannedSkill,
  type PlannedTool,
  type UnknownReach,
} from "./approvals/effect-plan.js";
export {
  createMemoryAuditSink,
  MemoryAuditSink,
  type MemoryAuditSinkOptions,
} from "./audit/memory-audit-sink.js";
export { createRedactor, REDACTED, type Redactor } from "./audit/redactor.js";
export {
  createValueMatcher,
  type ValueMatcher,
} from "./audit/value-matcher.js";
export { BridgeRun, type BridgeRunOptions } from "./bridge/bridge-run.js";
export { FrameDecoder, formatBytes } from "./bridge/frame-decoder.js";
export type { GuestEndpoint, GuestHost } from "./bridge/guest-main.js";
export { guestPreludeSource, nodeGuestProgram } from "./bridge/guest-source.js";
export type { NodeGuestRunnerOptions } from "./bridge/node-guest-runner.js";
export {
  BRIDGE_PROTOCOL_VERSION,
  type CallFrame,
  type DoneFrame,
  type GuestErrorFrame,
  type GuestFrame,
  type HostFrame,
  jsonDepthOver,
  type LogFrame,
  MAX_FRAME_DEPTH,
  parseGuestFrame,
  type ReadyFrame,
  type ResultFrame,
  type RunFrame,
  type StartedFrame,
  validateGuestFrame,
} from "./bridge/protocol.js";
export { type JobAttempt, runUnlessStarted } from "./bridge/run-unless-started.js";
export { GUEST_GLOBALS, serverGlobalName, toIdentifier } from "./catalog/identifiers.js";
export { LearnedRanking, type LearnedRankingOptions } from "./catalog/learned-ranking.js";
export {
  createMemoryToolUsageStore,
  MemoryToolUsageStore,
  type MemoryToolUsageStoreOptions,
} from "./catalog/memory-tool-usage-store.js";
export {
  createOpenAIEmbedder,
  OpenAIEmbedder,
  type OpenAIEmbedderOptions,
} from "./catalog/openai-embedder.js";
export { SearchFeedback, type SearchFeedbackOptions } from "./catalog/search-feedback.js";
export {
  createSearchIndex,
  type SearchDocument,
  type SearchField,
  type SearchIndex,
  type SearchIndexOptions,
} from "./catalog/search-index.js";
export { expandQuery, searchTokens, stem } from "./catalog/search-text.js";
export {
  type CatalogSearchOptions,
  type CatalogServer,
  type CatalogTool,
  type DetailLevel,
  effectiveAnnotations,
  type SearchHit,
  ToolCatalog,
  type ToolDescription,
} from "./catalog/tool-catalog.js";
export {
  reciprocalRankFusion,
  VectorIndex,
  type VectorIndexOptions,
} from "./catalog/vector-index.js";
export {
  type DisabledServer,
  expandVariables,
  formatIssues,
  missingVariablesMessage,
  type ParseServersOptions,
  parseMcpServers,
  parseSandboxConfig,
} from "./config/parse-config.js";
export {
  type HttpServerConfig,
  HttpServerConfigSchema,
  type HybridPolicyConfig,
  HybridPolicySchema,
  isStdioServer,
  type McpServersConfig,
  McpServersSchema,
  type MemoConfig,
  MemoConfigSchema,
  type ResolvedSandboxConfig,
  SANDBOX_MODES,
  type SandboxConfig,
  SandboxConfigSchema,
  type ServerConfig,
  ServerConfigSchema,
  type StdioServerConfig,
  StdioServerConfigSchema,
} from "./config/schema.js";
export { ExecutionContext } from "./context/execution-context.js";
export {
  type ContextEntry,
  type ContextLimits,
  type ContextScope,
  type ContextSetOptions,
  type ContextUpdateResult,
  contextScope,
  createPrincipalContext,
  DEFAULT_CONTEXT_MAX_BYTES,
  DEFAULT_CONTEXT_MAX_ENTRIES,
  DEFAULT_CONTEXT_TTL_MS,
  type PrincipalContext,
  type PrincipalContextOptions,
  resolveContextLimits,
} from "./context/principal-context.js";
export type {
  AuditRecord,
  AuditSink,
  ContextAuditRead,
  ContextAuditWrite,
  ExecutionAuditRecord,
  FeatureChangeAuditRecord,
  ToolCallAuditRecord,
} from "./contracts/audit-sink.js";
export type { CallCache, CallCacheKey, CallCacheLookup } from "./contracts/call-cache.js";
export type { Embedder } from "./contracts/embedder.js";
export type {
  EntryListOptions,
  EntryPage,
  EntryScopeLimits,
  EntryScopeStats,
  EntryStore,
  EntryWriteOptions,
  StoredEntry,
} from "./contracts/entry-store.js";
export type { PiiDetector, PiiKind, PiiMatch } from "./contracts/pii-detector.js";
export type {
  ContextRequest,
  ExecutionHints,
  GuestRequest,
  GuestServer,
  LogEntry,
  Sandbox,
  SandboxCapabilities,
  SandboxFactory,
  SandboxHost,
  SandboxJob,
  SandboxLimits,
  SandboxMode,
  SandboxOpenOptions,
  SandboxOutcome,
  SandboxPoolStats,
  SandboxSession,
} from "./contracts/sandbox.js";
export type {
  LeasedSession,
  SessionAllowlist,
  SessionChange,
  SessionCounters,
  SessionCreateInput,
  SessionData,
  SessionGcReport,
  SessionLease,
  SessionLeaseOptions,
  SessionListOptions,
  SessionListPage,
  SessionLogEntry,
  SessionRecord,
  SessionSnippet,
  SessionStore,
  SessionStoreStats,
  SessionSummary,
  SessionToolCallLog,
  SessionWriteOptions,
  StoredAmount,
} from "./contracts/session-store.js";
export type { Tokenizer } from "./contracts/tokenizer.js";
export type { ToolUsageStore } from "./contracts/tool-usage-store.js";
export type {
  CallToolOptions,
  ContentBlock,
  ToolAnnotations,
  ToolCallResult,
  Upstream,
  UpstreamInfo,
  UpstreamPrompt,
  UpstreamResource,
  UpstreamTool,
} from "./contracts/upstream.js";
export type { SessionLeaseSettings } from "./engine/execution/session-turn.js";
export {
  ExecutionHost,
  type ExecutionHostDeps,
  type ExecutionIdentity,
  unwrapToolResult,
  ValidatorCache,
} from "./engine/execution-host.js";
export type { OperationDefinition, StandardSchemaLike } from "./engine/operations.js";
export {
  type ExecuteOptions,
  MCPOptimizer,
  type MCPOptimizerOptions,
  type OptimizerCapabilities,
  type RunOptions,
  type RunResult,
  type ToolCallSummary,
} from "./engine/optimizer.js";
export { checkToolAllowed, type PolicyDecision } from "./engine/policy.js";
export type { RetryOptions } from "./engine/retry.js";
export {
  cutToBudget,
  type RenderedOutcome,
  renderOutcome,
  renderOutcomeForModel,
  shapeToBudget,
  shapeToBudgetAsync,
} from "./engine/shape-result.js";
export { type CallSite, compileProgram, type Program } from "./engine/transpile.js";
export {
  type ErrorCode,
  ErrorCodes,
  hasErrorCode,
  isErrorCode,
  isOptimizerError,
  OptimizerError,
  type OptimizerErrorOptions,
  toOptimizerError,
} from "./errors.js";
export { EngineFeatures, type FeatureChange } from "./features/engine-features.js";
export {
  assertFeatureName,
  FEATURE_NAMES,
  FEATURES,
  type FeatureDefinition,
  type FeatureName,
  type FeatureSetting,
  type FeatureSettings,
  type FeatureSource,
  type FeatureState,
  featureDisabled,
  featureEnvName,
  featuresFromEnv,
  layerFeatures,
  type ResolvedFeatures,
  resolveFeatures,
} from "./features/feature-flags.js";
export { isPlainObject, type JsonObject, type JsonPrimitive, type JsonValue } from "./json.js";
export {
  CallMemo,
  type CallMemoOptions,
  canonicalJson,
  createCallMemo,
  DEFAULT_MEMO_TTL_MS,
  type MemoDecision,
  type MemoLookup,
  memoSettings,
} from "./memo/call-memo.js";
export {
  createMemoryCallCache,
  MemoryCallCache,
  type MemoryCallCacheOptions,
} from "./memo/memory-call-cache.js";
export {
  createDefaultPiiDetector,
  type DefaultPiiDetector,
  type DefaultPiiDetectorOptions,
  type PiiRule,
} from "./privacy/default-pii-detector.js";
export { ExecutionPrivacy } from "./privacy/execution-privacy.js";
export {
  type PrivacyOptions,
  type ResolvedPrivacy,
  resolvePrivacy,
} from "./privacy/privacy-options.js";
export { TokenVault, type VaultEntry, vaultScope } from "./privacy/token-vault.js";
export { describeValue, type ValueSummary } from "./results/describe-value.js";
export {
  DEFAULT_HANDLE_MAX_BYTES,
  DEFAULT_HANDLE_TTL_MS,
  describeHandle,
  handleScope,
  type ResultHandleOptions,
  readHandle,
  storeHandle,
} from "./results/result-handles.js";
export {
  compareVersions,
  MINIMUM_NODE_VERSION,
  nodeVersionProblem,
  PERMISSION_MODEL_NODE_VERSION,
} from "./runtime/node-version.js";
export * from "./sandbox/hybrid-sandbox.js";
export {
  importPlugin,
  loadPluginSandbox,
  loadSandbox,
  modeDisabled,
  SANDBOX_PACKAGES,
} from "./sandbox/load-sandbox.js";
export {
  createProcessSandbox,
  type NamespaceSupport,
  type PermissionModelSupport,
  ProcessSandbox,
  type ProcessSandboxOptions,
  probeNamespaces,
  probePermissionModel,
} from "./sandbox/process/process-sandbox.js";
export { SerialQueue } from "./sandbox/serial-queue.js";
export type { ApprovalsEndpointOptions } from "./server/approvals-endpoint.js";
export {
  createHttpAccessCheck,
  createStaticTokenVerifier,
  type HttpAccessDecision,
  type HttpAccessOptions,
  isLoopbackHost,
  MIN_STATIC_TOKEN_LENGTH,
  type ResolvedHttpAccess,
  resolveHttpAccess,
  type StaticTokenVerifierOptions,
} from "./server/http-access.js";
export { InstrumentedServer, type ServerInstrumentation } from "./server/instrumented-server.js";
export { type ArgumentIssue, MetaToolArgumentValidator } from "./server/meta-tool-arguments.js";
export {
  DEFAULT_MAX_META_TOOL_TOKENS,
  type InlineApiSetting,
  inlineApiFor,
  type MetaToolDefinition,
  type MetaToolOptions,
  type MetaToolServer,
  metaToolDefinitions,
  servedMetaTools,
} from "./server/meta-tools.js";
export {
  createOptimizerMcpServer,
  formatHits,
  type OptimizerServerOptions,
  readTypes,
  type SessionScope,
  searchListingText,
  TYPES_URI_PREFIX,
} from "./server/optimizer-server.js";
export {
  createOptimizerHttpServer,
  type OptimizerHttpServer,
  type OptimizerHttpServerOptions,
  type OptimizerStdioOptions,
  serveOptimizerStdio,
} from "./server/serve.js";
export type { ServerNetwork } from "./server/server-metrics.js";
export {
  assertEntryName,
  assertEntryOptions,
  DEFAULT_MAX_ENTRY_BYTES,
  entryConflict,
  entryText,
  scopeFull,
} from "./sessions/entry-rules.js";
export { assertLeaseOptions, busyError, leaseLostError } from "./sessions/lease-table.js";
export {
  type LoadSessionStoreOptions,
  loadSessionStore,
  REDIS_SESSIONS_PACKAGE,
} from "./sessions/load-session-store.js";
export { MemoryEntryStore, type MemoryEntryStoreOptions } from "./sessions/memory-entry-store.js";
export {
  createMemorySessionStore,
  DEFAULT_MAX_SESSION_BYTES,
  MemorySessionStore,
  type MemorySessionStoreOptions,
} from "./sessions/memory-session-store.js";
export {
  assertSessionId,
  DEFAULT_SESSION_TTL_MS,
  newSessionData,
  newSessionRecord,
  nextSessionRecord,
  SESSION_LOG_LIMIT,
  sessionData,
  type UpdateSessionOptions,
  updateSession,
} from "./sessions/session-data.js";
export {
  assertSkillName,
  SkillBook,
  type SkillRecord,
  type SkillSaveInput,
} from "./skills/skill-book.js";
export { SkillRuntime, signatureOf as skillSignature } from "./skills/skill-runtime.js";
export {
  loggedProgram,
  type OptimizerSkills,
  type SkillSaveOptions,
} from "./skills/skills-api.js";
export {
  Attr,
  DURATION_BUCKETS_SECONDS,
  Instruments,
  METER_NAME,
  SESSION_DURATION_BUCKETS_SECONDS,
  Telemetry,
  type TelemetryOptions,
} from "./telemetry/instruments.js";
export {
  decodeFromModel,
  type EncodedForModel,
  encodeForModel,
  MODEL_ENCODING_SETTINGS,
  type ModelEncoding,
  type ModelEncodingOptions,
  type ModelEncodingSetting,
  TOON_FORMAT_LINE,
  TOON_MAX_JSON_CHARS,
  toonText,
} from "./tokens/model-encoding.js";
export {
  approximateTokenizer,
  countTokensAsync,
  createO200kTokenizer,
  type O200kTokenizerOptions,
} from "./tokens/o200k-tokenizer.js";
export {
  createPricing,
  DEFAULT_PRICES_PER_MTOK,
  DEFAULT_PRICING_MODEL,
  type Pricing,
  type PricingOptions,
} from "./tokens/pricing.js";
export {
  type BilledTokens,
  billedTokens,
  DEFAULT_CACHED_INPUT_RATE,
  MEDIA_BLOCK_TOKENS,
  type PathFigures,
  plainCallTokens,
  plainCallTokensAsync,
  roundTripsOf,
  type TokenFigures,
  type TranscriptPath,
  toolCallText,
  toolDefinitionsText,
  toolResultText,
} from "./tokens/token-accounting.js";
export {
  createMcpUpstream,
  McpUpstream,
  type McpUpstreamOptions,
  type UpstreamEvent,
} from "./upstream/mcp-upstream.js";
