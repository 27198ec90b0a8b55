export {
  AssignIssueParams,
  IssueDigestParams,
  ReleaseHealthParams,
  ResolveIssueParams,
  SentryOperations,
  sentryOperationDefinitions,
  TriageParams,
} from "./operations.js";
export {
  issueDigestProgram,
  releaseHealthProgram,
  triageProgram,
  updateIssueProgram,
} from "./programs.js";
export {
  createSentryAdaptor,
  type IssueDigest,
  type IssueUpdate,
  type ReleaseHealth,
  SentryAdaptor,
  type SentryAdaptorOptions,
  type SentryCallOptions,
  type SentryResult,
  type StackFrame,
  type TriageIssue,
  type TriageResult,
} from "./sentry-adaptor.js";
export {
  hasSentryErrorCode,
  isSentryAdaptorError,
  SentryAdaptorError,
  type SentryErrorCode,
  SentryErrorCodes,
  toSentryError,
} from "./sentry-errors.js";
export { guardSentryGateway, SENTRY_GATEWAY_TOOL } from "./sentry-gateway.js";
export {
  resolveSentryMcpBin,
  SENTRY_HOSTED_MCP_URL,
  type SentryUpstreamOptions,
  sentryServerConfig,
} from "./sentry-upstream.js";
export {
  installSentrySkills,
  type SentrySkill,
  SentrySkillNames,
  sentrySkills,
} from "./skills.js";
