export { BridgeRun, type BridgeRunOptions } from "./bridge/bridge-run.js";
export { FrameDecoder, formatBytes } from "./bridge/frame-decoder.js";
export type { GuestEndpoint, GuestHost } from "./bridge/guest-main.js";
export { guestPreludeSource, nodeGuestProgram } from "./bridge/guest-source.js";
export {
  BRIDGE_PROTOCOL_VERSION,
  type CallFrame,
  type DoneFrame,
  type GuestErrorFrame,
  type GuestFrame,
  type HostFrame,
  type LogFrame,
  type ReadyFrame,
  type ResultFrame,
  type RunFrame,
  validateGuestFrame,
} from "./bridge/protocol.js";
export type {
  AuditRecord,
  AuditSink,
  ExecutionAuditRecord,
  ToolCallAuditRecord,
} from "./contracts/audit-sink.js";
export type {
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
  SandboxSession,
} from "./contracts/sandbox.js";
export type {
  SessionAllowlist,
  SessionChange,
  SessionCounters,
  SessionCreateInput,
  SessionData,
  SessionListOptions,
  SessionListPage,
  SessionLogEntry,
  SessionRecord,
  SessionSnippet,
  SessionStore,
  SessionSummary,
  SessionToolCallLog,
} from "./contracts/session-store.js";
export type { Tokenizer } from "./contracts/tokenizer.js";
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
export type { JsonObject, JsonPrimitive, JsonValue } from "./json.js";
export {
  createProcessSandbox,
  type NamespaceSupport,
  ProcessSandbox,
  type ProcessSandboxOptions,
  probeNamespaces,
} from "./sandbox/process/process-sandbox.js";
export { SerialQueue } from "./sandbox/serial-queue.js";
export {
  createMemorySessionStore,
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
