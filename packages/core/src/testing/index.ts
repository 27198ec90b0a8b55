/**
 * Conformance suites for the core contracts, run by every implementation against its real
 * backend. Import from "@mcp-optimizer/core/testing" inside a vitest test file.
 */
export { type DescribeSandboxOptions, describeSandbox } from "./describe-sandbox.js";
export {
  type DescribeSessionStoreOptions,
  describeSessionStore,
} from "./describe-session-store.js";
