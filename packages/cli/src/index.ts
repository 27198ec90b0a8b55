export type {
  BenchmarkOptions,
  BenchmarkReport,
  SandboxReport,
  ScenarioReport,
} from "./benchmark/run-benchmark.js";
export { runBenchmark } from "./benchmark/run-benchmark.js";
export type {
  BenchmarkScenario,
  PlainCall,
  PlainMcpClient,
  PreparedScenario,
  ScenarioContext,
} from "./benchmark/scenario.js";
export { scenarios } from "./benchmark/scenarios/index.js";
export type { Command, CommandArgs } from "./command.js";
export type { CapabilitiesReport } from "./commands/capabilities.js";
export { type CreateAdaptorOptions, createAdaptor } from "./commands/create-adaptor.js";
export {
  claudeDesktopConfigPath,
  type ImportedServers,
  importClientConfig,
} from "./config/import-client-config.js";
export {
  findConfigFile,
  type LoadedConfig,
  loadConfig,
  parseConfigObject,
} from "./config/load-config.js";
export {
  type CliConfig,
  CliConfigSchema,
  CONFIG_ENV,
  CONFIG_FILE_NAMES,
  SessionsConfigSchema,
  TelemetryConfigSchema,
} from "./config/schema.js";
export { type ExitCode, ExitCodes, exitCodeFor } from "./exit-codes.js";
export type { Io } from "./io.js";
export { commands, main } from "./main.js";
export { renderHtmlReport } from "./report/html-report.js";
export { createRuntime, type Runtime, type RuntimeOptions } from "./runtime/create-runtime.js";
