import {
  assertSessionId,
  ErrorCodes,
  OptimizerError,
  type SessionRecord,
  type SessionStoreStats,
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
       mcp-optimizer sessions stats [--json]
       mcp-optimizer sessions gc [--json]

Lists, shows and deletes sessions in the configured store (sessions.redisUrl). stats shows
what the store holds: sessions (count, bytes, the oldest), entries beside them by kind
(context keys, result handles, privacy vaults), evictions and the size caps. gc removes what
has expired now and prunes the listings of it (Redis expires keys by itself; its listings
are pruned as they are read, and by gc). With the default in-memory store, sessions live
inside the serving process and end with it: there is nothing to see from another process,
and the command says so.

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
  summary: "list, show or delete sessions; stats and gc of the session store",
  help: HELP,
  maxPositionals: 2,
  options: {
    tenant: { type: "string" },
    limit: { type: "string" },
    json: { type: "boolean" },
  },
  async run({ values, positionals, io, config }) {
    const [action, id] = positionals;
    if (!["list", "show", "delete", "stats", "gc"].includes(action ?? "")) {
      throw usageError(
        `sessions takes list, show ID, delete ID, stats or gc${action ? `; got "${action}"` : ""}`,
        "sessions",
      );
    }
    const takesId = action === "show" || action === "delete";
    if (!takesId && id !== undefined)
      throw usageError(`sessions ${action} takes no ID`, "sessions");
    if (takesId) {
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
      if (action === "stats") {
        if (!store.stats) throw noSupport(store.kind, "stats");
        const stats = await store.stats();
        if (json) writeJson(io.stdout, stats);
        else writeLine(io.stdout, statsText(stats));
        return ExitCodes.OK;
      }
      if (action === "gc") {
        if (!store.gc) throw noSupport(store.kind, "gc");
        const report = await store.gc();
        if (json) writeJson(io.stdout, report);
        else
          writeLine(
            io.stderr,
            `Removed ${report.sessions} expired session(s) and ${report.entries} expired entr${report.entries === 1 ? "y" : "ies"}, pruned ${report.indexMembers} dead listing member(s) in ${report.durationMs} ms.`,
          );
        return ExitCodes.OK;
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

function noSupport(kind: string, what: string): OptimizerError {
  return new OptimizerError(
    ErrorCodes.SESSION_STORE_UNAVAILABLE,
    `The ${kind} session store has no ${what}() (SessionStore.${what} is optional); it cannot be shown here.`,
  );
}

/** What the store holds, as a few lines and a table. */
function statsText(stats: SessionStoreStats): string {
  const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
  const rows: (string | number)[][] = [
    ["sessions", stats.sessions.count, stats.sessions.bytes, mb(stats.sessions.bytes)],
    ...Object.entries(stats.entries.byKind)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([kind, a]) => [`entries: ${kind}`, a.count, a.bytes, mb(a.bytes)]),
  ];
  const oldest = stats.sessions.oldest;
  return [
    `${stats.kind} store`,
    formatTable(["what", "count", "bytes", "size"], rows),
    "",
    `oldest session: ${oldest ? `${oldest.id} (tenant ${oldest.tenant}), created ${oldest.createdAt}` : "none"}`,
    "evictions: each serving process counts its own (the metric mcp_optimizer.store.evictions)",
    `caps: a session ${stats.limits.maxSessionBytes} bytes (maxSessionBytes), an entry ${stats.limits.maxEntryBytes} bytes (maxEntryBytes)${stats.limits.maxSessions ? `, ${stats.limits.maxSessions} sessions (maxSessions)` : ""}`,
  ].join("\n");
}
