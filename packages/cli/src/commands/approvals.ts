import {
  type ApprovalRecord,
  createApprovalBook,
  ErrorCodes,
  OptimizerError,
} from "@mcp-optimizer/core";
import { boolFlag, type Command, stringFlag } from "../command.js";
import { loadConfig } from "../config/load-config.js";
import { ExitCodes } from "../exit-codes.js";
import { formatTable, type Io, writeJson, writeLine } from "../io.js";
import { formatPlan } from "../report/format-plan.js";
import { loadSessionStore } from "../runtime/load-session-store.js";
import { intFlag, usageError } from "../usage-error.js";

const HELP = `Usage: mcp-optimizer approvals list [--status S] [--tenant T] [--limit N] [--json]
       mcp-optimizer approvals show ID [--tenant T] [--json]
       mcp-optimizer approvals approve ID [--by NAME] [--tenant T]
       mcp-optimizer approvals reject ID [--reason TEXT] [--by NAME] [--tenant T]

Programs whose effect plan reaches tools the approval policy asks about wait here for a
person (docs/approvals-and-skills.md). Once approved, the model resends execute_code with the
plan id (or \`mcp-optimizer run --resume ID\` runs it); an approval runs once.

The approvals are read from the configured session store (sessions.redisUrl), where every
serving replica finds them. A server with in-memory sessions keeps them in its own memory:
reach it over its approvals endpoint instead (serve --http ... --approver-token-env VAR):

  --url URL          the serving process's approvals endpoint (printed by serve)
  --token-env VAR    the environment variable holding the approver token

Options:
  --status S     list only pending, approved, rejected or used approvals
  --tenant T     the tenant (default: sessions.tenant, else "default")
  --limit N      at most N approvals (default 100)
  --by NAME      who decides, for the record (default "cli")
  --reason TEXT  why it was rejected
  --json         print JSON
  --config FILE  the config file (default: $MCPO_CONFIG, ./mcp-optimizer.config.json)
  -h, --help     this help
`;

const STATUSES = ["pending", "approved", "rejected", "used"];

/** The operations, over the store or over a server's endpoint. */
interface ApprovalDesk {
  list(status: string | undefined, limit: number): Promise<ApprovalRecord[]>;
  get(id: string): Promise<ApprovalRecord | undefined>;
  approve(id: string, by: string): Promise<ApprovalRecord>;
  reject(id: string, by: string, reason: string | undefined): Promise<ApprovalRecord>;
  close(): Promise<void>;
}

export const approvalsCommand: Command = {
  name: "approvals",
  summary: "list, show, approve or reject programs waiting for a person's approval",
  help: HELP,
  maxPositionals: 2,
  options: {
    status: { type: "string" },
    tenant: { type: "string" },
    limit: { type: "string" },
    by: { type: "string" },
    reason: { type: "string" },
    json: { type: "boolean" },
    url: { type: "string" },
    "token-env": { type: "string" },
  },
  async run({ values, positionals, io, config }) {
    const [action, id] = positionals;
    if (!["list", "show", "approve", "reject"].includes(action ?? "")) {
      throw usageError(
        `approvals takes list, show ID, approve ID or reject ID${action ? `; got "${action}"` : ""}`,
        "approvals",
      );
    }
    if (action === "list" && id !== undefined)
      throw usageError("approvals list takes no ID", "approvals");
    if (action !== "list" && !id)
      throw usageError(`approvals ${action} needs an approval ID`, "approvals");
    const status = stringFlag(values, "status");
    if (status !== undefined && !STATUSES.includes(status))
      throw usageError(`--status is one of ${STATUSES.join(", ")}; got "${status}"`, "approvals");
    const limit =
      intFlag(stringFlag(values, "limit"), "limit", "approvals", { max: 10_000 }) ?? 100;
    const json = boolFlag(values, "json");
    const by = stringFlag(values, "by") ?? "cli";
    const desk = await openDesk(values, io, config);
    try {
      if (action === "list") {
        const approvals = await desk.list(status, limit);
        if (json) writeJson(io.stdout, { approvals });
        else if (approvals.length === 0) writeLine(io.stderr, "No approvals.");
        else
          writeLine(
            io.stdout,
            formatTable(
              ["id", "status", "session", "created", "expires", "tools that ask"],
              approvals.map((a) => [
                a.id,
                a.status,
                a.sessionId,
                a.createdAt,
                a.expiresAt,
                a.plan.approval.tools.join(", "),
              ]),
            ),
          );
        return ExitCodes.OK;
      }
      if (action === "show") {
        const record = await desk.get(id!);
        if (!record)
          throw new OptimizerError(ErrorCodes.APPROVAL_NOT_FOUND, `No approval "${id}".`);
        if (json) writeJson(io.stdout, record);
        else writeLine(io.stdout, describe(record));
        return ExitCodes.OK;
      }
      const record =
        action === "approve"
          ? await desk.approve(id!, by)
          : await desk.reject(id!, by, stringFlag(values, "reason"));
      if (json) writeJson(io.stdout, record);
      else
        writeLine(
          io.stderr,
          `${record.status === "approved" ? "Approved" : "Rejected"} ${record.id}: ${record.plan.summary}${record.status === "approved" ? ` The model runs it by resending execute_code with { "plan": "${record.id}" } (or: mcp-optimizer run --resume ${record.id}).` : ""}`,
        );
      return ExitCodes.OK;
    } finally {
      await desk.close();
    }
  },
};

/** One approval for a person: the plan, the program, what a dry run showed. */
function describe(record: ApprovalRecord): string {
  const lines = [
    `${record.id}: ${record.status}${record.decidedBy ? ` by ${record.decidedBy} at ${record.decidedAt}` : ""}${record.reason ? ` (${record.reason})` : ""}`,
    `session ${record.sessionId}, tenant ${record.tenant}, asked by ${record.requestedBy} at ${record.createdAt}, expires ${record.expiresAt}`,
    "",
    formatPlan(record.plan),
  ];
  if (record.preview) {
    lines.push("", "A dry run called:");
    for (const c of record.preview.calls)
      lines.push(`  ${c.ran ? "ran    " : "not run"}  ${c.tool}(${JSON.stringify(c.args)})`);
    if (record.preview.error) lines.push(`  (the dry run ended with: ${record.preview.error})`);
  }
  lines.push("", "--- program ---", record.code);
  return lines.join("\n");
}

async function openDesk(
  values: Record<string, unknown>,
  io: Io,
  config: string | undefined,
): Promise<ApprovalDesk> {
  const url = stringFlag(values as never, "url");
  const tokenEnv = stringFlag(values as never, "token-env");
  if (url !== undefined) return httpDesk(url, tokenEnv, io);
  if (tokenEnv !== undefined) throw usageError("--token-env goes with --url", "approvals");
  const loaded = await loadConfig({ explicit: config });
  const store = await loadSessionStore(loaded.config.sessions, loaded.config.sandbox?.redisUrl);
  if (store.kind === "memory") {
    writeLine(
      io.stderr,
      "mcp-optimizer: sessions are in memory (no sessions.redisUrl in the config): pending approvals live inside the serving process; use its approvals endpoint (--url) instead.",
    );
  }
  const ttlMs = loaded.config.approvals ? loaded.config.approvals.ttlMs : undefined;
  const book = createApprovalBook(store.entries, ttlMs ? { ttlMs } : {});
  const tenant =
    stringFlag(values as never, "tenant") ?? loaded.config.sessions?.tenant ?? "default";
  return {
    list: (status, limit) =>
      book.list(tenant, { ...(status ? { status: status as never } : {}), limit }),
    get: (id) => book.get(tenant, id),
    approve: (id, by) => book.approve(tenant, id, { by }),
    reject: (id, by, reason) => book.reject(tenant, id, { by, ...(reason ? { reason } : {}) }),
    close: () => store.close().catch(() => {}),
  };
}

/** The operations over a serving process's approvals endpoint. */
function httpDesk(url: string, tokenEnv: string | undefined, io: Io): ApprovalDesk {
  let base: URL;
  try {
    base = new URL(url);
  } catch {
    throw usageError(`--url takes the approvals endpoint's URL; got "${url}"`, "approvals");
  }
  const token = tokenEnv !== undefined ? io.env[tokenEnv] : undefined;
  if (tokenEnv !== undefined && !token)
    throw usageError(`--token-env ${tokenEnv}: the variable ${tokenEnv} is not set`, "approvals");
  const call = async (path: string, init: RequestInit = {}): Promise<unknown> => {
    const target = new URL(base.href.replace(/\/$/, "") + path);
    let response: Response;
    try {
      response = await fetch(target, {
        ...init,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(init.body ? { "content-type": "application/json" } : {}),
        },
      });
    } catch (error) {
      throw new OptimizerError(
        ErrorCodes.INVALID_INPUT,
        `Cannot reach ${target.origin}: ${(error as Error).message}. Is the server running with --approver-token-env?`,
        { details: { exitCode: ExitCodes.UNAVAILABLE } },
      );
    }
    const body = (await response.json().catch(() => ({}))) as {
      error?: { code?: string; message?: string };
    };
    if (response.ok) return body;
    if (response.status === 401 || response.status === 403)
      throw new OptimizerError(
        ErrorCodes.INVALID_INPUT,
        `The approvals endpoint refused the token (HTTP ${response.status}): pass the approver token with --token-env VAR.`,
        { details: { exitCode: ExitCodes.UNAVAILABLE } },
      );
    const code = body.error?.code;
    throw new OptimizerError(
      code === ErrorCodes.APPROVAL_NOT_FOUND
        ? ErrorCodes.APPROVAL_NOT_FOUND
        : ErrorCodes.INVALID_INPUT,
      body.error?.message ?? `The approvals endpoint answered HTTP ${response.status}.`,
      code === ErrorCodes.APPROVAL_NOT_FOUND ? {} : { details: { exitCode: ExitCodes.FAILED } },
    );
  };
  const id = (value: string) => `/${encodeURIComponent(value)}`;
  return {
    async list(status) {
      const body = (await call(status ? `?status=${status}` : "")) as {
        approvals: ApprovalRecord[];
      };
      return body.approvals;
    },
    async get(value) {
      try {
        return (await call(id(value))) as ApprovalRecord;
      } catch (error) {
        if ((error as OptimizerError).code === ErrorCodes.APPROVAL_NOT_FOUND) return undefined;
        throw error;
      }
    },
    approve: async (value, by) =>
      (await call(`${id(value)}/approve`, {
        method: "POST",
        body: JSON.stringify({ by }),
      })) as ApprovalRecord,
    reject: async (value, by, reason) =>
      (await call(`${id(value)}/reject`, {
        method: "POST",
        body: JSON.stringify({ by, ...(reason ? { reason } : {}) }),
      })) as ApprovalRecord,
    close: async () => {},
  };
}
