import {
  createProcessSandbox,
  parseSandboxConfig,
  type ResolvedSandboxConfig,
  type Sandbox,
  type SandboxCapabilities,
} from "@mcp-optimizer/core";
import { boolFlag, type Command } from "../command.js";
import { ExitCodes } from "../exit-codes.js";
import { formatTable, writeJson, writeLine } from "../io.js";
import { createRuntime } from "../runtime/create-runtime.js";
import { loadPluginMode, SANDBOX_PACKAGES } from "../runtime/load-sandbox.js";
import { cliVersion } from "../version.js";

const HELP = `Usage: mcp-optimizer capabilities [--json] [--strict] [--config FILE]

What is available here and now: each configured server (reachable?, protocol version,
tools/resources/prompts, tool-definition tokens), each sandbox mode (available?, why not,
engine, limits), the session store (reachable?), each feature flag (its value and where it
came from: default, config, environment) and telemetry. A table by default,
--json for machines (the schema is in the README).

A server whose \${VAR} is unset, or that the config disables, is listed as disabled.

Options:
  --json         print JSON on stdout
  --strict       fail (exit 3) when a server's \${VAR} is unset, as serve --strict does
  --config FILE  the config file (default: $MCPO_CONFIG, ./mcp-optimizer.config.json)
  -h, --help     this help
`;

export interface SandboxModeReport {
  mode: string;
  available: boolean;
  reason?: string;
  isolation?: SandboxCapabilities["isolation"];
  package: string;
  details: Record<string, unknown>;
}

export interface FeatureReport {
  name: string;
  value: boolean;
  source: "default" | "config" | "environment" | "tenant";
  default: boolean;
  /** Whether `serve` can change it on SIGHUP; else it takes a restart. */
  reloadable: boolean;
  description: string;
}

export interface UpstreamReport {
  name: string;
  transport: string;
  reachable: boolean;
  /** Not started: `disabled` in the config, or variables it uses are unset (see `error`). */
  disabled?: boolean;
  protocolVersion?: string;
  server?: { name: string; version: string };
  tools: number;
  resources: number | null;
  prompts: number | null;
  toolDefinitionTokens: number;
  error?: string;
}

export interface CapabilitiesReport {
  version: string;
  config: { file: string | null };
  sandbox: {
    configuredMode: string;
    activeMode: string;
    available: boolean;
    reason?: string;
    limits: { maxExecutionTimeMs: number; maxMemoryMb: number };
  };
  sandboxes: SandboxModeReport[];
  upstreams: UpstreamReport[];
  tokens: { tokenizer: string; toolDefinitions: number; metaTools: number; tools: number };
  sessions: { kind: string; reachable: boolean; error?: string };
  /** Every feature flag: its value, where the value came from, its default. */
  features: FeatureReport[];
  telemetry: {
    enabled: boolean;
    metrics: boolean;
    traces: boolean;
    exporters: string[];
    notes: string[];
  };
}

async function probeMode(mode: string, config: ResolvedSandboxConfig): Promise<SandboxModeReport> {
  const pkg = mode === "process" ? "@mcp-optimizer/core" : (SANDBOX_PACKAGES[mode] ?? "?");
  let sandbox: Sandbox | undefined;
  try {
    sandbox =
      mode === "process"
        ? createProcessSandbox({ maxMemoryMb: config.maxMemoryMb })
        : await loadPluginMode(mode, { ...config, mode: mode as ResolvedSandboxConfig["mode"] });
    const caps = await sandbox.capabilities();
    return {
      mode,
      available: caps.available,
      ...(caps.reason ? { reason: caps.reason } : {}),
      isolation: caps.isolation,
      package: pkg,
      details: caps.details,
    };
  } catch (error) {
    return { mode, available: false, reason: (error as Error).message, package: pkg, details: {} };
  } finally {
    await sandbox?.close().catch(() => {});
  }
}

/** Gathers the capabilities report. */
export async function gatherCapabilities(
  configFile: string | undefined,
  options: { strict?: boolean } = {},
): Promise<CapabilitiesReport> {
  const runtime = await createRuntime({
    configFile,
    note: () => {},
    ...(options.strict ? { strict: true } : {}),
  });
  try {
    const optimizer = runtime.optimizer;
    const caps = await optimizer.capabilities();
    const meta = await optimizer.metaToolDefinitions();
    const sandboxConfig = parseSandboxConfig(runtime.loaded.config.sandbox);
    const flagOff = (mode: string) =>
      caps.features.find((f) => f.name === `sandbox.${mode}` && !f.value);
    const modes = await Promise.all(
      ["process", "wasm", "docker", "gvisor"].map(async (m): Promise<SandboxModeReport> => {
        const off = flagOff(m);
        if (!off) return probeMode(m, sandboxConfig);
        return {
          mode: m,
          available: false,
          reason: `switched off by the feature flag "${off.name}" (${off.source})`,
          package: m === "process" ? "@mcp-optimizer/core" : (SANDBOX_PACKAGES[m] ?? "?"),
          details: {},
        };
      }),
    );
    const upstreams = await Promise.all(
      caps.upstreams.map(async (u): Promise<UpstreamReport> => {
        const upstream = optimizer.listUpstreams().find((x) => x.name === u.name);
        const count = async (fn: (() => Promise<unknown[]>) | undefined) => {
          if (!u.connected || !fn) return null;
          try {
            return (await fn()).length;
          } catch {
            return null;
          }
        };
        return {
          name: u.name,
          transport: u.transport,
          reachable: u.connected,
          ...(u.protocolVersion ? { protocolVersion: u.protocolVersion } : {}),
          ...(u.serverInfo
            ? { server: { name: u.serverInfo.name, version: u.serverInfo.version } }
            : {}),
          tools: u.tools,
          resources: await count(upstream && (() => upstream.listResources())),
          prompts: await count(upstream && (() => upstream.listPrompts())),
          toolDefinitionTokens: u.toolDefinitionTokens,
          ...(u.lastError && !u.connected ? { error: u.lastError } : {}),
        };
      }),
    );
    const unset = new Map(runtime.loaded.disabledServers.map((d) => [d.name, d.variables]));
    const configured = runtime.loaded.config.mcpServers as Record<
      string,
      { disabled?: boolean; command?: string }
    >;
    for (const [name, server] of Object.entries(configured)) {
      if (!server.disabled) continue;
      const variables = unset.get(name);
      upstreams.push({
        name,
        transport: "command" in server ? "stdio" : "http",
        reachable: false,
        disabled: true,
        tools: 0,
        resources: null,
        prompts: null,
        toolDefinitionTokens: 0,
        error: variables
          ? `disabled: ${variables.map((v) => `\${${v}}`).join(", ")} not set`
          : "disabled in the config",
      });
    }
    return {
      version: cliVersion(),
      config: { file: runtime.loaded.file ?? null },
      sandbox: {
        configuredMode: sandboxConfig.mode,
        activeMode: caps.sandbox.mode,
        available: caps.sandbox.available,
        ...(caps.sandbox.reason ? { reason: caps.sandbox.reason } : {}),
        limits: {
          maxExecutionTimeMs: sandboxConfig.maxExecutionTime,
          maxMemoryMb: sandboxConfig.maxMemoryMb,
        },
      },
      sandboxes: modes,
      upstreams,
      tokens: {
        tokenizer: caps.tokenizer,
        toolDefinitions: upstreams.reduce((n, u) => n + u.toolDefinitionTokens, 0),
        metaTools: meta.tokens,
        tools: caps.tools,
      },
      sessions: caps.sessions,
      features: caps.features.map((f) => ({
        name: f.name,
        value: f.value,
        source: f.source,
        default: f.default,
        reloadable: f.reloadable,
        description: f.description,
      })),
      telemetry: {
        enabled: runtime.telemetry.enabled,
        metrics: caps.telemetry.metrics,
        traces: caps.telemetry.traces,
        exporters: runtime.telemetry.exporters,
        notes: runtime.telemetry.notes,
      },
    };
  } finally {
    await runtime.close();
  }
}

const yes = (b: boolean) => (b ? "yes" : "no");
const clip = (text: string, max: number) =>
  text.length > max ? `${text.slice(0, max - 1)}…` : text;

export const capabilitiesCommand: Command = {
  name: "capabilities",
  summary: "what is available here: servers, sandbox modes, session store, telemetry",
  help: HELP,
  maxPositionals: 0,
  options: { json: { type: "boolean" }, strict: { type: "boolean" } },
  async run({ values, io, config }) {
    const report = await gatherCapabilities(config, { strict: boolFlag(values, "strict") });
    if (boolFlag(values, "json")) {
      writeJson(io.stdout, report);
      return ExitCodes.OK;
    }
    const out = io.stdout;
    writeLine(
      out,
      `mcp-optimizer ${report.version}, config: ${report.config.file ?? "none (defaults)"}`,
    );
    writeLine(out);
    writeLine(out, "Servers");
    writeLine(
      out,
      report.upstreams.length === 0
        ? "  none configured (add mcpServers, or run `mcp-optimizer init --import claude-desktop`)"
        : formatTable(
            [
              "name",
              "reachable",
              "transport",
              "protocol",
              "tools",
              "resources",
              "prompts",
              "definition tokens",
            ],
            report.upstreams.map((u) => [
              u.name,
              u.reachable ? "yes" : `no: ${u.error ?? "?"}`,
              u.transport,
              u.protocolVersion ?? "-",
              u.tools,
              u.resources ?? "-",
              u.prompts ?? "-",
              u.toolDefinitionTokens,
            ]),
          ),
    );
    writeLine(out);
    writeLine(
      out,
      `Sandbox: ${report.sandbox.activeMode}${report.sandbox.configuredMode !== report.sandbox.activeMode ? ` (configured ${report.sandbox.configuredMode})` : ""}, ${report.sandbox.limits.maxExecutionTimeMs} ms, ${report.sandbox.limits.maxMemoryMb} MB${report.sandbox.reason ? `; ${report.sandbox.reason}` : ""}`,
    );
    writeLine(
      out,
      formatTable(
        ["mode", "available", "isolation", "engine", "heap MB", "why not / notes"],
        report.sandboxes.map((s) => [
          s.mode,
          yes(s.available),
          s.isolation ?? "-",
          engineOf(s.details),
          typeof s.details.heapLimitMb === "number" ? String(s.details.heapLimitMb) : "-",
          clip(s.reason ?? "", 70),
        ]),
      ),
    );
    // A clipped reason is printed in full below: it usually says how to fix it.
    for (const s of report.sandboxes)
      if (s.reason && s.reason.length > 70) writeLine(out, `  ${s.mode}: ${s.reason}`);
    writeLine(out);
    writeLine(
      out,
      `Tokens (${report.tokens.tokenizer}): ${report.tokens.tools} tool definitions cost ${report.tokens.toolDefinitions}; code mode's meta-tools cost ${report.tokens.metaTools}`,
    );
    writeLine(
      out,
      `Sessions: ${report.sessions.kind}, reachable: ${yes(report.sessions.reachable)}${report.sessions.error ? ` (${report.sessions.error})` : ""}`,
    );
    writeLine(out);
    writeLine(out, "Features");
    writeLine(
      out,
      formatTable(
        ["flag", "value", "from", "default", "changes on SIGHUP"],
        report.features.map((f) => [
          f.name,
          f.value ? "on" : "off",
          f.source,
          f.default ? "on" : "off",
          f.reloadable ? "yes" : "restart",
        ]),
      ),
    );
    writeLine(out);
    writeLine(
      out,
      report.telemetry.enabled
        ? `Telemetry: on${report.telemetry.exporters.length ? ` (${report.telemetry.exporters.join(", ")})` : ", no exporter"}; metrics ${yes(report.telemetry.metrics)}, traces ${yes(report.telemetry.traces)}${report.telemetry.notes.length ? `; ${report.telemetry.notes.join("; ")}` : ""}`
        : `Telemetry: off (add a "telemetry" section for Prometheus, OTLP or an audit file)${report.telemetry.notes.length ? `; ${report.telemetry.notes.join("; ")}` : ""}`,
    );
    return ExitCodes.OK;
  },
};

function engineOf(details: Record<string, unknown>): string {
  // docker's details.engine is the Docker engine itself: its version and the OCI runtime used.
  const engine = details.engine as { serverVersion?: unknown } | undefined;
  if (engine && typeof engine === "object" && typeof engine.serverVersion === "string")
    return `docker ${engine.serverVersion}${typeof details.runtime === "string" ? `, ${details.runtime}` : ""}`.slice(
      0,
      40,
    );
  for (const key of ["engine", "runtime", "node", "serverVersion", "version"]) {
    const v = details[key];
    if (typeof v === "string" || typeof v === "number") return String(v).slice(0, 40);
  }
  return "-";
}
