import {
  ErrorCodes,
  MCPOptimizer,
  missingVariablesMessage,
  OptimizerError,
  parseSandboxConfig,
  type SandboxConfig,
  type SessionStore,
} from "@mcp-optimizer/core";
import { type LoadedConfig, loadConfig } from "../config/load-config.js";
import { loadCallMemo } from "./load-call-memo.js";
import { openApiUpstreams } from "./load-openapi-upstreams.js";
import { loadCliSandbox } from "./load-sandbox.js";
import { configureSearch } from "./load-search.js";
import { loadSessionStore } from "./load-session-store.js";
import { type LoadedTelemetry, loadTelemetry } from "./load-telemetry.js";

export interface RuntimeOptions {
  /** The --config flag. */
  configFile?: string | undefined;
  /** Fail when no config file is found. Default false (defaults, no servers). */
  requireConfig?: boolean;
  /** Overrides of the config's sandbox section (e.g. --sandbox). */
  sandbox?: Partial<SandboxConfig>;
  /** Where notes (fallbacks, degraded parts) go. Default: stderr. */
  note?: (message: string) => void;
  /** Start telemetry exporters. Default true. */
  telemetry?: boolean;
  /** Refuse the config when a server's `${VAR}` is unset. Default false: that server is left out, with a note. */
  strict?: boolean;
}

/** The optimizer built from a config file, with its composed plug-ins. */
export interface Runtime {
  optimizer: MCPOptimizer;
  loaded: LoadedConfig;
  telemetry: LoadedTelemetry;
  /** Notes printed while composing (fallbacks taken). */
  notes: string[];
  close(): Promise<void>;
}

/** Reads the config and composes sandbox, sessions and telemetry into an MCPOptimizer. */
export async function createRuntime(options: RuntimeOptions = {}): Promise<Runtime> {
  const note = options.note ?? ((m: string) => process.stderr.write(`mcp-optimizer: ${m}\n`));
  const loaded = await loadConfig({
    explicit: options.configFile,
    ...(options.strict ? { strict: true } : {}),
  });
  if (!loaded.file && options.requireConfig) {
    throw new OptimizerError(
      ErrorCodes.INVALID_CONFIG,
      "No config file found: pass --config FILE, set MCPO_CONFIG, or create mcp-optimizer.config.json with `mcp-optimizer init`.",
    );
  }
  const sandboxConfig = parseSandboxConfig({ ...loaded.config.sandbox, ...options.sandbox });
  const notes: string[] = [];
  const say = (m: string) => {
    notes.push(m);
    note(m);
  };
  if (loaded.disabledServers.length > 0) {
    say(
      `${loaded.disabledServers.map((d) => d.name).join(", ")} left out: ${missingVariablesMessage(loaded.disabledServers).replace(/^Invalid configuration: /, "")} The other servers start (--strict refuses instead).`,
    );
  }
  const sessions: SessionStore = await loadSessionStore(
    loaded.config.sessions,
    sandboxConfig.redisUrl,
  );
  const telemetry =
    options.telemetry === false
      ? await loadTelemetry({ enabled: false })
      : await loadTelemetry(loaded.config.telemetry);
  for (const n of telemetry.notes) say(n);
  let sandbox: Awaited<ReturnType<typeof loadCliSandbox>>;
  try {
    sandbox = await loadCliSandbox(sandboxConfig);
  } catch (error) {
    await Promise.allSettled([sessions.close(), telemetry.shutdown()]);
    throw error;
  }
  for (const n of sandbox.notes) say(n);
  const { redisUrl: _redis, ...coreSandboxConfig } = sandboxConfig;
  const sessionsConfig = loaded.config.sessions;
  const redisUrl = loaded.config.sessions?.redisUrl ?? sandboxConfig.redisUrl;
  const { memo, note: memoNote } = await loadCallMemo(
    loaded,
    redisUrl,
    sandboxConfig.enableMetrics,
  );
  if (memoNote) say(memoNote);
  const optimizer = new MCPOptimizer({
    sandboxConfig: { ...coreSandboxConfig, mode: sandboxConfig.mode },
    sandbox: sandbox.sandbox,
    sessions,
    ...(memo ? { memo } : {}),
    ...(loaded.config.privacy ? { privacy: loaded.config.privacy } : {}),
    ...(loaded.config.resultHandles !== undefined
      ? { resultHandles: loaded.config.resultHandles }
      : {}),
    ...(loaded.config.approvals !== undefined ? { approvals: loaded.config.approvals } : {}),
    mcpServers: loaded.mcpServers,
    upstreams: openApiUpstreams(loaded),
    audit: telemetry.audit,
    secrets: loaded.secrets,
    ...(sessionsConfig?.tenant || sessionsConfig?.ttlMs
      ? {
          sessionDefaults: {
            ...(sessionsConfig.tenant ? { tenant: sessionsConfig.tenant } : {}),
            ...(sessionsConfig.ttlMs ? { ttlMs: sessionsConfig.ttlMs } : {}),
          },
        }
      : {}),
  });
  const search = await configureSearch(optimizer, loaded, redisUrl);
  for (const n of search.notes) say(n);
  return {
    optimizer,
    loaded,
    telemetry,
    notes,
    async close() {
      await optimizer.close().catch(() => {});
      await search.close();
      await memo?.close().catch(() => {});
      await sandbox.sandbox.close().catch(() => {});
      await sessions.close().catch(() => {});
      await telemetry.shutdown();
    },
  };
}
