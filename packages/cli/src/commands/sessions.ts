import {
  assertSessionId,
  ErrorCodes,
  OptimizerError,
  type SessionRecord,
} from "@mcp-optimizer/core";
import { boolFlag, type Command, stringFlag } from "../command.js";
import { loadConfig } from "../config/load-config.js";
import { ExitCodes } from "../exit-codes.js";
import { formatTable, writeJson, writeLine } from "../io.js";
import { loadSessionStore } from "../runtime/load-session-store.js";
import { intFlag, usageError } from "../usage-error.js";

const HELP = `Usage: mcp-optimizer sessions list [--tenant T] [--limit N] [--json]
       mcp-optimizer sessions show ID [--json]
       mcp-optimizer sessions delete ID

Lists, shows and deletes sessions in the configured store (sessions.redisUrl). With the
default in-memory store, sessions live inside the serving process and end with it: there
is nothing to list from another process, and the command says so.

Options:
  --tenant T     the tenant whose sessions to list (default: sessions.tenant, else "default")
  --limit N      at most N sessions (default 100)
  --json         print JSON
  --config FILE  the config file (default: $MCPO_CONFIG, ./mcp-optimizer.config.json)
  -h, --help     this help
`;

function summary(record: SessionRecord) {
  return {
    id: record.id,
    tenant: record.tenant,
    version: record.version,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    expiresAt: record.expiresAt,
    executions: record.counters.executions,
    toolCalls: record.counters.toolCalls,
    tokensUsed: record.counters.tokensUsed,
    tokensPlainMcp: record.counters.tokensPlainMcp,
  };
}

export const sessionsCommand: Command = {
  name: "sessions",
  summary: "list, show or delete sessions in the session store",
  help: HELP,
  maxPositionals: 2,
  options: {
    tenant: { type: "string" },
    limit: { type: "string" },
    json: { type: "boolean" },
  },
  async run({ values, positionals, io, config }) {
    const [action, id] = positionals;
    if (action !== "list" && action !== "show" && action !== "delete") {
      throw usageError(
        `sessions takes list, show ID or delete ID${action ? `; got "${action}"` : ""}`,
        "sessions",
      );
    }
    if (action === "list" && id !== undefined)
      throw usageError("sessions list takes no ID", "sessions");
    if (action !== "list") {
      if (!id) throw usageError(`sessions ${action} needs a session ID`, "sessions");
      assertSessionId(id);
    }
    const limit = intFlag(stringFlag(values, "limit"), "limit", "sessions", { max: 10_000 }) ?? 100;
    const json = boolFlag(values, "json");
    const loaded = await loadConfig({ explicit: config });
    const store = await loadSessionStore(loaded.config.sessions, loaded.config.sandbox?.redisUrl);
    try {
      await store.ping?.();
      if (store.kind === "memory") {
        writeLine(
          io.stderr,
          "mcp-optimizer: sessions are in memory (no sessions.redisUrl in the config): they live inside each serving process, so there are none to see from here.",
        );
      }
      if (action === "list") {
        const tenant = stringFlag(values, "tenant") ?? loaded.config.sessions?.tenant ?? "default";
        const sessions = [];
        let cursor: string | undefined;
        do {
          const page = await store.list(tenant, {
            ...(cursor ? { cursor } : {}),
            limit: Math.min(limit, 1000),
          });
          sessions.push(...page.sessions);
          cursor = page.cursor;
        } while (cursor && sessions.length < limit);
        const shown = sessions.slice(0, limit);
        if (json) writeJson(io.stdout, { tenant, store: store.kind, sessions: shown });
        else if (shown.length === 0) writeLine(io.stderr, `No sessions for tenant "${tenant}".`);
        else
          writeLine(
            io.stdout,
            formatTable(
              ["id", "tenant", "version", "updated", "expires"],
              shown.map((s) => [s.id, s.tenant, s.version, s.updatedAt, s.expiresAt]),
            ),
          );
        return ExitCodes.OK;
      }
      if (action === "show") {
        const record = await store.get(id!);
        if (!record) {
          throw new OptimizerError(
            ErrorCodes.SESSION_NOT_FOUND,
            `No session "${id}" in the ${store.kind} store.`,
          );
        }
        if (json) writeJson(io.stdout, record);
        else {
          const s = summary(record);
          writeLine(
            io.stdout,
            formatTable(
              ["field", "value"],
              Object.entries(s).map(([k, v]) => [k, String(v)]),
            ),
          );
          writeLine(io.stdout);
          writeLine(io.stdout, `state: ${JSON.stringify(record.state)}`);
          if (record.log.length > 0) {
            writeLine(io.stdout);
            writeLine(
              io.stdout,
              formatTable(
                ["at", "kind", "outcome", "mode", "ms", "tool calls", "tokens", "plain MCP"],
                record.log.map((l) => [
                  l.at,
                  l.operation ?? l.kind,
                  l.errorCode ?? l.outcome,
                  l.mode,
                  l.durationMs,
                  l.toolCalls.length,
                  l.tokens.used,
                  l.tokens.plainMcp,
                ]),
              ),
            );
          }
        }
        return ExitCodes.OK;
      }
      const deleted = await store.delete(id!);
      if (!deleted) {
        throw new OptimizerError(
          ErrorCodes.SESSION_NOT_FOUND,
          `No session "${id}" in the ${store.kind} store.`,
        );
      }
      if (json) writeJson(io.stdout, { deleted: id });
      else writeLine(io.stderr, `Deleted session ${id}.`);
      return ExitCodes.OK;
    } finally {
      await store.close().catch(() => {});
    }
  },
};
