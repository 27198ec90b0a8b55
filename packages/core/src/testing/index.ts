/**
 * Conformance suites for the core contracts, run by every implementation against its real
 * backend. Import from "@mcp-optimizer/core/testing" inside a vitest test file.
 */

export {
  type DescribeAuditSinkOptions,
  describeAuditSink,
  sampleExecutionRecord,
  sampleToolCallRecord,
} from "./describe-audit-sink.js";
export { type DescribeCallCacheOptions, describeCallCache } from "./describe-call-cache.js";
export { type DescribeEmbedderOptions, describeEmbedder } from "./describe-embedder.js";
export { describeHostileFrames, hostileFramesTests } from "./describe-hostile-frames.js";
export { describeHostileRuns, hostileRunsTests } from "./describe-hostile-runs.js";
export {
  describeHostileSignals,
  hostileSignalsTests,
  processGroupOf,
} from "./describe-hostile-signals.js";
export { describeHostileValues, hostileValuesTests } from "./describe-hostile-values.js";
export {
  describePeerIsolation,
  PEER_RUNS,
  peerIsolationTests,
} from "./describe-peer-isolation.js";
export { describePiiDetector, PII_SAMPLES } from "./describe-pii-detector.js";
export { type DescribeSandboxOptions, describeSandbox } from "./describe-sandbox.js";
export {
  type DescribeSessionStoreOptions,
  describeSessionStore,
} from "./describe-session-store.js";
export { describeTokenizer } from "./describe-tokenizer.js";
export {
  type DescribeToolUsageStoreOptions,
  describeToolUsageStore,
} from "./describe-tool-usage-store.js";
export { type DescribeUpstreamOptions, describeUpstream } from "./describe-upstream.js";
export { freePort } from "./free-port.js";
export {
  describeHostile,
  expectOutcomeOrTypedError,
  type HostileKit,
  type HostileSuiteOptions,
  hostileHost,
  hostileKit,
} from "./hostile-kit.js";
export { oldNodeBinary } from "./old-node.js";
