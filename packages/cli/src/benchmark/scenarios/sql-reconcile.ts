import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BenchmarkScenario } from "../scenario.js";
import { assert } from "./fixtures.js";
import {
  databaseFile,
  dbhubServer,
  dbhubUnavailable,
  writeOrdersDatabase,
} from "./sql-database.js";

const QUERY = "SELECT id, amount_cents FROM orders WHERE status = 'paid'";

/**
 * Data from two servers that no one query can join: the paid orders of a real SQLite database
 * (DBHub, an SQL MCP server from npm) against a payment provider's CSV export on disk
 * (server-filesystem). Over plain MCP both enter the context to be compared.
 */
export const sqlReconcile: BenchmarkScenario = {
  id: "sql-reconcile",
  title: "Reconcile 5,000 SQL orders with a CSV",
  description:
    "DBHub (SQLite) + server-filesystem: compare the paid orders of a 5,000-row table with a payments CSV export and report the orders with no payment or a different amount. Over plain MCP every paid order and every payment line enters the context.",
  small: true,
  unavailable: dbhubUnavailable,
  async prepare(context) {
    const count = context.quick ? 500 : 5000;
    const db = databaseFile(context);
    const orders = await writeOrdersDatabase(db, count);
    const missing: number[] = [];
    const wrong: { id: number; billed: number; paid: number }[] = [];
    const lines = ["order_id,amount_cents"];
    for (const [i, o] of orders.entries()) {
      if (o.status !== "paid") continue;
      if (i % 613 === 7) missing.push(o.id);
      else if (i % 797 === 11) {
        wrong.push({ id: o.id, billed: o.amountCents, paid: o.amountCents - 100 });
        lines.push(`${o.id},${o.amountCents - 100}`);
      } else lines.push(`${o.id},${o.amountCents}`);
    }
    const csv = join(context.workDir, "payments.csv");
    writeFileSync(csv, `${lines.join("\n")}\n`);
    const fs = context.serverCommand("@modelcontextprotocol/server-filesystem");
    return {
      mcpServers: {
        db: dbhubServer(context, db),
        files: { ...fs, args: [...fs.args, context.workDir] },
      },
      program: `const result = await db.execute_sql({ sql: ${JSON.stringify(QUERY)} });
const orders = result.data.statements[0].rows;
const csv = await files.read_text_file({ path: ${JSON.stringify(csv)} });
const paid = new Map(csv.content.trim().split("\\n").slice(1).map((l) => l.split(",").map(Number)));
const missing = [], wrong = [];
for (const o of orders) {
  const p = paid.get(o.id);
  if (p === undefined) missing.push(o.id);
  else if (p !== o.amount_cents) wrong.push({ id: o.id, billed: o.amount_cents, paid: p });
}
return { checked: orders.length, missing, wrong };`,
      async plain(client) {
        // Independent reads: one round trip asks for both.
        await client.turn([
          { server: "db", tool: "execute_sql", args: { sql: QUERY } },
          { server: "files", tool: "read_text_file", args: { path: csv } },
        ]);
      },
      verify(value) {
        const v = value as { checked?: number; missing?: number[]; wrong?: unknown[] };
        const paidCount = orders.filter((o) => o.status === "paid").length;
        assert(
          v.checked === paidCount,
          `expected ${paidCount} paid orders checked, got ${v.checked}`,
        );
        assert(
          JSON.stringify(v.missing) === JSON.stringify(missing),
          `missing payments differ: ${JSON.stringify(v.missing)}`,
        );
        assert(
          JSON.stringify(v.wrong) === JSON.stringify(wrong),
          `wrong amounts differ: ${JSON.stringify(v.wrong)}`,
        );
      },
    };
  },
};
