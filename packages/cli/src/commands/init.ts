import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { ErrorCodes, formatIssues, OptimizerError, SANDBOX_MODES } from "@mcp-optimizer/core";
import { boolFlag, type Command, stringFlag } from "../command.js";
import { serveEntry } from "../config/client-snippet.js";
import {
  claudeDesktopConfigPath,
  importClientConfig,
  resolveImportPath,
} from "../config/import-client-config.js";
import { CliConfigSchema, CONFIG_FILE_NAMES } from "../config/schema.js";
import { ExitCodes } from "../exit-codes.js";
import { writeLine } from "../io.js";
import { intFlag, usageError } from "../usage-error.js";
import { Prompter } from "./prompter.js";

const HELP = `Usage: mcp-optimizer init [options]

Writes a config file (mcp-optimizer.config.json, or the --config path). On a terminal, or
with --interactive, it asks its questions (answers may be piped on stdin); otherwise the
flags decide. Servers come from an MCP client config you already have, unchanged.

Options:
  --config FILE            file to write (default ./mcp-optimizer.config.json)
  --import FILE|NAME       take mcpServers from an MCP client config: a path, or
                           claude-desktop, claude-code (.mcp.json), cursor (.cursor/mcp.json),
                           vscode (.vscode/mcp.json; its "servers" key)
  --mode MODE              sandbox mode: ${SANDBOX_MODES.join(", ")} (default wasm)
  --redis-url URL          keep sessions in Redis (default: in memory)
  --key-prefix PREFIX      Redis key prefix (default mcpo:)
  --max-execution-time MS  wall-clock limit of one program (default 30000)
  --max-memory MB          memory ceiling of a sandbox runner (default 128)
  --prometheus-port PORT   turn telemetry on with Prometheus /metrics on PORT
  --audit-file FILE        write audit records as JSON lines to FILE
  --approvals ASK          which tools ask a person before a program that reaches them
                           runs: destructive, write or off (default destructive;
                           docs/approvals-and-skills.md)
  --force                  overwrite an existing file
  --interactive            ask questions even when stdin is not a terminal
  --yes                    never ask; use the flags and defaults
  -h, --help               this help
`;

export const initCommand: Command = {
  name: "init",
  summary: "write a config file (interactive on a terminal, or from flags)",
  help: HELP,
  maxPositionals: 0,
  options: {
    import: { type: "string" },
    mode: { type: "string" },
    "redis-url": { type: "string" },
    "key-prefix": { type: "string" },
    "max-execution-time": { type: "string" },
    "max-memory": { type: "string" },
    "prometheus-port": { type: "string" },
    "audit-file": { type: "string" },
    approvals: { type: "string" },
    force: { type: "boolean" },
    interactive: { type: "boolean" },
    yes: { type: "boolean", short: "y" },
  },
  async run({ values, io, config }) {
    const target = resolve(io.cwd, config ?? CONFIG_FILE_NAMES[0]);
    const force = boolFlag(values, "force");
    if (existsSync(target) && !force) {
      throw new OptimizerError(
        ErrorCodes.INVALID_INPUT,
        `${target} already exists; pass --force to overwrite it.`,
        { details: { file: target, exitCode: ExitCodes.EXISTS } },
      );
    }
    const interactive =
      !boolFlag(values, "yes") && (boolFlag(values, "interactive") || io.stdin.isTTY === true);

    let importFrom = stringFlag(values, "import");
    let mode = stringFlag(values, "mode");
    let redisUrl = stringFlag(values, "redis-url");
    if (interactive) {
      const prompter = new Prompter(io.stdin, io.stderr);
      try {
        writeLine(io.stderr, `Creating ${target}`);
        // Offer the first client config found: this project's, then Claude Desktop's.
        const detected = [
          resolve(io.cwd, ".mcp.json"),
          resolve(io.cwd, ".cursor", "mcp.json"),
          resolve(io.cwd, ".vscode", "mcp.json"),
          claudeDesktopConfigPath(),
        ].find((f) => existsSync(f));
        // A wrong answer is re-asked now rather than failing after the last question.
        const answer = await prompter.askChecked(
          "Import servers from an MCP client config (a path, claude-desktop, claude-code, cursor, vscode; '-' for none)",
          importFrom ?? detected ?? "-",
          (a) => {
            if (a === "-") return undefined;
            const path = resolve(io.cwd, resolveImportPath(a, io.cwd));
            return existsSync(path) ? undefined : `${path}: no such file.`;
          },
        );
        importFrom = answer === "-" ? undefined : answer;
        mode = await prompter.choose("Sandbox mode", SANDBOX_MODES, mode ?? "wasm");
        const redis = await prompter.askChecked(
          "Redis URL for sessions ('-' keeps them in memory)",
          redisUrl ?? "-",
          (a) =>
            a === "-" || /^(rediss?:\/\/|\$\{)/.test(a)
              ? undefined
              : "a Redis URL starts with redis:// or rediss://.",
        );
        redisUrl = redis === "-" ? undefined : redis;
      } finally {
        prompter.close();
      }
    }
    if (mode !== undefined && !(SANDBOX_MODES as readonly string[]).includes(mode)) {
      throw usageError(`--mode is one of ${SANDBOX_MODES.join(", ")}; got "${mode}"`, "init");
    }

    let mcpServers: Record<string, unknown> = {};
    let source = "no servers yet";
    if (importFrom) {
      const file = resolveImportPath(importFrom, io.cwd);
      const path = isAbsolute(file) ? file : resolve(io.cwd, file);
      if (!existsSync(path)) {
        throw new OptimizerError(ErrorCodes.INVALID_CONFIG, `${path}: no such file to import.`, {
          details: { file: path },
        });
      }
      const imported = await importClientConfig(path);
      mcpServers = imported.mcpServers;
      source = `${Object.keys(mcpServers).length} server(s) from ${path} (${imported.kind})`;
      for (const t of imported.translated) {
        writeLine(io.stderr, `mcp-optimizer: translated ${t}`);
      }
      if (imported.dropped.length > 0) {
        writeLine(
          io.stderr,
          `mcp-optimizer: dropped fields the optimizer does not use: ${imported.dropped.join(", ")}`,
        );
      }
    }

    const maxExecutionTime = intFlag(
      stringFlag(values, "max-execution-time"),
      "max-execution-time",
      "init",
      { min: 10, max: 3_600_000 },
    );
    const maxMemoryMb = intFlag(stringFlag(values, "max-memory"), "max-memory", "init", {
      min: 16,
      max: 65_536,
    });
    const prometheusPort = intFlag(
      stringFlag(values, "prometheus-port"),
      "prometheus-port",
      "init",
      { min: 0, max: 65_535 },
    );
    const auditFile = stringFlag(values, "audit-file");
    // New configs are safe by default: destructive tools ask (serve then asks through the client).
    const approvals = stringFlag(values, "approvals") ?? "destructive";
    if (!["destructive", "write", "off"].includes(approvals))
      throw usageError(`--approvals is destructive, write or off; got "${approvals}"`, "init");
    const keyPrefix = stringFlag(values, "key-prefix");
    const file = {
      mcpServers,
      sandbox: {
        mode: mode ?? "wasm",
        ...(maxExecutionTime ? { maxExecutionTime } : {}),
        ...(maxMemoryMb ? { maxMemoryMb } : {}),
      },
      ...(redisUrl ? { sessions: { redisUrl, ...(keyPrefix ? { keyPrefix } : {}) } } : {}),
      ...(prometheusPort !== undefined || auditFile
        ? {
            telemetry: {
              ...(prometheusPort !== undefined ? { prometheusPort } : {}),
              ...(auditFile ? { auditFile } : {}),
            },
          }
        : {}),
      approvals: approvals === "off" ? false : { ask: approvals },
    };
    const checked = CliConfigSchema.safeParse(file);
    if (!checked.success) {
      throw new OptimizerError(
        ErrorCodes.INVALID_CONFIG,
        `The config would be invalid: ${formatIssues(checked.error.issues, "")}`,
      );
    }
    mkdirSync(dirname(target), { recursive: true });
    const json = JSON.stringify(file, null, 2);
    // A .ts/.mjs/.js config is a module whose default export is the config (what discovery loads).
    writeFileSync(
      target,
      /\.(m?ts|m?js)$/.test(target) ? `export default ${json};\n` : `${json}\n`,
    );
    writeLine(
      io.stderr,
      `Wrote ${target}: ${source}, sandbox ${file.sandbox.mode}, sessions ${redisUrl ? "in Redis" : "in memory"}, approvals ${approvals === "off" ? "off" : `for ${approvals} tools`}.`,
    );
    const entry = serveEntry(target);
    const snippet = {
      mcpServers: { "mcp-optimizer": { command: entry.command, args: entry.args } },
    };
    writeLine(
      io.stderr,
      `Next: \`mcp-optimizer capabilities --config ${target}\`, then put this in your MCP client's config in place of its servers (${entry.why}):\n${JSON.stringify(snippet, null, 2)}`,
    );
    writeLine(io.stdout, target);
    return ExitCodes.OK;
  },
};
