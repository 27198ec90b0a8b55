import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { BenchmarkScenario } from "../scenario.js";
import { assert } from "./fixtures.js";
import {
  databaseFile,
  dbhubServer,
  dbhubUnavailable,
  writeOrdersDatabase,
} from "./sql-database.js";

const QUERY =
  "SELECT id, customer, amount_cents, created_at FROM orders WHERE status = 'paid' ORDER BY id";
const HEADER = "id,customer,amount_cents,created_at";

/**
 * A query's rows written to a file: the paid orders of a 3,000-row SQLite table (DBHub) exported
 * as CSV through server-filesystem. Over plain MCP the rows pass through the model twice: as the
 * query's result, then as the file's content.
 */
export const sqlExport: BenchmarkScenario = {
  id: "sql-export",
  title: "Export 3,000 SQL rows to a CSV file",
  description:
    "DBHub (SQLite) + server-filesystem: query the paid orders of a 3,000-row table and write them to a CSV file. Over plain MCP the rows enter the context as the result, then again as the file content the model writes.",
  small: true,
  unavailable: dbhubUnavailable,
  async prepare(context) {
    const count = context.quick ? 300 : 3000;
    const db = databaseFile(context);
    const orders = await writeOrdersDatabase(db, count);
    const out = join(context.workDir, "export", "paid-orders.csv");
    const expected = `${[
      HEADER,
      ...orders
        .filter((o) => o.status === "paid")
        .map((o) => [o.id, o.customer, o.amountCents, o.createdAt].join(",")),
    ].join("\n")}\n`;
    const fs = context.serverCommand("@modelcontextprotocol/server-filesystem");
    return {
      mcpServers: {
        db: dbhubServer(context, db),
        files: { ...fs, args: [...fs.args, context.workDir] },
      },
      program: `const result = await db.execute_sql({ sql: ${JSON.stringify(QUERY)} });
const rows = result.data.statements[0].rows;
const lines = rows.map((r) => [r.id, r.customer, r.amount_cents, r.created_at].join(","));
await files.create_directory({ path: ${JSON.stringify(join(context.workDir, "export"))} });
await files.write_file({ path: ${JSON.stringify(out)}, content: ${JSON.stringify(`${HEADER}\n`)} + lines.join("\\n") + "\\n" });
return { exported: rows.length, to: ${JSON.stringify(out)} };`,
      async plain(client) {
        const result = await client.call("db", "execute_sql", { sql: QUERY });
        const rows = (
          JSON.parse(client.text(result)) as {
            data: { statements: { rows: Record<string, string | number>[] }[] };
          }
        ).data.statements[0]!.rows;
        const content = `${[HEADER, ...rows.map((r) => [r.id, r.customer, r.amount_cents, r.created_at].join(","))].join("\n")}\n`;
        await client.call("files", "create_directory", { path: join(context.workDir, "export") });
        await client.call("files", "write_file", { path: out, content });
      },
      verify(value) {
        const v = value as { exported?: number };
        const paid = orders.filter((o) => o.status === "paid").length;
        assert(v.exported === paid, `expected ${paid} rows exported, got ${v.exported}`);
        assert(readFileSync(out, "utf8") === expected, "the exported CSV differs from the table");
      },
    };
  },
};
