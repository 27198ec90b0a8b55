import {
  type ContextEntry,
  createPrincipalContext,
  ErrorCodes,
  featureDisabled,
  type JsonValue,
  OptimizerError,
} from "@mcp-optimizer/core";
import { boolFlag, type Command, stringFlag } from "../command.js";
import { loadConfig } from "../config/load-config.js";
import { ExitCodes } from "../exit-codes.js";
import { formatTable, writeJson, writeLine } from "../io.js";
import { cliFeatureSettings } from "../runtime/load-features.js";
import { loadSessionStore } from "../runtime/load-session-store.js";
import { intFlag, usageError } from "../usage-error.js";

const HELP = `Usage: mcp-optimizer context list [PREFIX] [--principal P] [--tenant T] [--json]
       mcp-optimizer context get KEY [--principal P] [--tenant T] [--json]
       mcp-optimizer context set KEY VALUE [--ttl MS] [--principal P] [--tenant T]
       mcp-optimizer context delete KEY [--principal P] [--tenant T]

A principal's context: keys that outlive a conversation (preferences, an account id looked
up once, notes a program leaves for the next one), shared by all of the principal's
sessions. Programs read and write the same keys as \`context\`. They live beside the
sessions in the configured store (sessions.redisUrl); with the default in-memory store they
live inside each serving process, and the command says so.

VALUE is JSON: 42, true, '{"theme":"dark"}', '"a string"'; - reads it from stdin.

Options:
  --principal P  whose context (default: sessions.principal, else "default")
  --tenant T     the principal's tenant (default: sessions.tenant, else "default")
  --ttl MS       set: the key expires MS milliseconds after this write (default: context.ttlMs)
  --json         print JSON
  --config FILE  the config file (default: $MCPO_CONFIG, ./mcp-optimizer.config.json)
  -h, --help     this help
`;

const ACTIONS = ["list", "get", "set", "delete"] as const;
type Action = (typeof ACTIONS)[number];

export const contextCommand: Command = {
  name: "context",
  summary: "list, get, set or delete a principal's context keys (shared by its sessions)",
  help: HELP,
  maxPositionals: 3,
  options: {
    principal: { type: "string" },
    tenant: { type: "string" },
    ttl: { type: "string" },
    json: { type: "boolean" },
  },
  async run({ values, positionals, io, config }) {
    const [given, key, raw] = positionals;
    if (!ACTIONS.includes(given as Action)) {
      throw usageError(
        `context takes list, get KEY, set KEY VALUE or delete KEY${given ? `; got "${given}"` : ""}`,
        "context",
      );
    }
    const action = given as Action;
    if (action !== "list" && !key) throw usageError(`context ${action} needs a KEY`, "context");
    if (action === "set" && raw === undefined)
      throw usageError("context set needs a KEY and a VALUE (JSON)", "context");
    if (action !== "set" && raw !== undefined)
      throw usageError(`unexpected argument "${raw}"`, "context");
    const ttl = intFlag(stringFlag(values, "ttl"), "ttl", "context");
    if (ttl !== undefined && action !== "set")
      throw usageError("--ttl applies to context set only", "context");
    const json = boolFlag(values, "json");
    const value =
      action === "set" ? parseValue(raw === "-" ? await readAll(io.stdin) : raw!) : undefined;

    const loaded = await loadConfig({ explicit: config });
    const { resolved } = cliFeatureSettings(loaded.config, io.env);
    if (!resolved.context.value) throw featureDisabled("context", "context");
    const sessions = loaded.config.sessions;
    const tenant = stringFlag(values, "tenant") ?? sessions?.tenant ?? "default";
    const principal = stringFlag(values, "principal") ?? sessions?.principal ?? "default";
    const store = await loadSessionStore(sessions, loaded.config.sandbox?.redisUrl);
    try {
      if (store.kind === "memory") {
        writeLine(
          io.stderr,
          "mcp-optimizer: context is in memory (no sessions.redisUrl in the config): it lives inside each serving process, so there is none to see from here.",
        );
      }
      const context = createPrincipalContext({
        entries: store.entries,
        tenant,
        principal,
        ...loaded.config.context,
      });
      const whose = `principal "${principal}" (tenant "${tenant}")`;
      if (action === "list") {
        const entries = await context.list(key ?? "");
        if (json) writeJson(io.stdout, { tenant, principal, store: store.kind, entries });
        else if (entries.length === 0) writeLine(io.stderr, `No context keys for ${whose}.`);
        else writeLine(io.stdout, table(entries));
        return ExitCodes.OK;
      }
      if (action === "get") {
        const entry = await context.entry(key!);
        if (!entry) throw notFound(key!, whose);
        if (json) writeJson(io.stdout, entry);
        else writeLine(io.stdout, JSON.stringify(entry.value));
        return ExitCodes.OK;
      }
      if (action === "set") {
        const written = await context.set(key!, value!, ttl !== undefined ? { ttl } : {});
        if (json) writeJson(io.stdout, written);
        else
          writeLine(
            io.stderr,
            `Set ${key} for ${whose}: version ${written.version}${written.expiresAt ? `, expires ${written.expiresAt}` : ""}.`,
          );
        return ExitCodes.OK;
      }
      if (!(await context.delete(key!))) throw notFound(key!, whose);
      if (json) writeJson(io.stdout, { deleted: key });
      else writeLine(io.stderr, `Deleted ${key} for ${whose}.`);
      return ExitCodes.OK;
    } finally {
      await store.close().catch(() => {});
    }
  },
};

function parseValue(text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    throw usageError(
      `VALUE is JSON; got ${JSON.stringify(text.slice(0, 60))} (quote a string: '"${text.slice(0, 20)}"')`,
      "context",
    );
  }
}

function notFound(key: string, whose: string): OptimizerError {
  return new OptimizerError(ErrorCodes.INVALID_INPUT, `No context key "${key}" for ${whose}.`, {
    details: { exitCode: ExitCodes.NOT_FOUND },
  });
}

function table(entries: ContextEntry[]): string {
  return formatTable(
    ["key", "version", "updated", "expires", "value"],
    entries.map((e) => {
      const text = JSON.stringify(e.value);
      return [
        e.key,
        e.version,
        e.updatedAt,
        e.expiresAt ?? "-",
        text.length > 60 ? `${text.slice(0, 59)}…` : text,
      ];
    }),
  );
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = "";
  for await (const chunk of stream) text += chunk.toString();
  return text.trim();
}
