import {
  ErrorCodes,
  type FeatureName,
  type FeatureSettings,
  MCPOptimizer,
  missingVariablesMessage,
  OptimizerError,
  parseSandboxConfig,
  type ResolvedFeatures,
  type SandboxConfig,
  type SessionStore,
} from "@mcp-optimizer/core";
import { type LoadedConfig, loadConfig } from "../config/load-config.js";
import type { CliConfig } from "../config/schema.js";
import { loadCallMemo } from "./load-call-memo.js";
import { cliFeatureSettings } from "./load-features.js";
import { openApiUpstreams } from "./load-openapi-upstreams.js";
import { cliPrivacy } from "./load-privacy.js";
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
  /** Where MCPO_FEATURE_<NAME> flags are read. Default process.env. */
  env?: Record<string, string | undefined>;
}

/** The optimizer built from a config file, with its composed plug-ins. */
export interface Runtime {
  optimizer: MCPOptimizer;
  loaded: LoadedConfig;
  telemetry: LoadedTelemetry;
  /** Notes printed while composing (fallbacks taken). */
  notes: string[];
  /** The feature flags the optimizer was built with (config, then environment). */
  features: FeatureSettings;
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
  // Before anything is opened: a Presidio detector that cannot be made is a config error.
  const privacy = loaded.config.privacy ? await cliPrivacy(loaded.config.privacy) : undefined;
  const features = cliFeatureSettings(loaded.config, options.env ?? process.env);
  for (const n of switchedOffNotes(loaded.config, features.resolved)) say(n);
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
    sandbox = await loadCliSandbox(sandboxConfig, {
      modeEnabled: (mode) => modeOn(features.resolved, mode),
    });
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
    ...(privacy ? { privacy } : {}),
    ...(loaded.config.resultHandles !== undefined
      ? { resultHandles: loaded.config.resultHandles }
      : {}),
    ...(loaded.config.approvals !== undefined ? { approvals: loaded.config.approvals } : {}),
    features: features.settings,
    ...(loaded.config.context ? { context: loaded.config.context } : {}),
    mcpServers: loaded.mcpServers,
    upstreams: openApiUpstreams(loaded),
    audit: telemetry.audit,
    secrets: loaded.secrets,
    ...(sessionsConfig?.tenant || sessionsConfig?.ttlMs || sessionsConfig?.principal
      ? {
          sessionDefaults: {
            ...(sessionsConfig.tenant ? { tenant: sessionsConfig.tenant } : {}),
            ...(sessionsConfig.ttlMs ? { ttlMs: sessionsConfig.ttlMs } : {}),
            ...(sessionsConfig.principal ? { principal: sessionsConfig.principal } : {}),
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
    features: features.settings,
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

/** Whether a sandbox mode may load: its `sandbox.<mode>` flag (hybrid has none). */
export function modeOn(features: ResolvedFeatures, mode: string): boolean {
  const flag = features[`sandbox.${mode}` as FeatureName];
  return flag === undefined || flag.value;
}

/** A configured part that a flag switched off is said, never silently dropped. */
function switchedOffNotes(config: CliConfig, features: ResolvedFeatures): string[] {
  const notes: string[] = [];
  const off = (name: FeatureName, what: string) => {
    const f = features[name];
    if (!f.value)
      notes.push(
        `${what} is configured, but the feature flag "${name}" is off (${f.source}): it is not used.`,
      );
  };
  if (config.privacy) off("privacy", "privacy");
  if (
    Object.values(config.mcpServers).some((s) => typeof s === "object" && s !== null && "memo" in s)
  )
    off("memoisation", "memo on a server");
  if (config.resultHandles) off("resultHandles", "resultHandles");
  if (config.context) off("context", "context");
  return notes;
}
