import { join } from "node:path";
import type { ScenarioContext } from "../scenario.js";
import { seeded } from "./fixtures.js";

/** The SQL MCP server the SQL scenarios use: DBHub (SQLite through Node's built-in node:sqlite). */
export const DBHUB = "@bytebase/dbhub";

/** Why DBHub cannot run here, or undefined. */
export function dbhubUnavailable(context: ScenarioContext): string | undefined {
  try {
    context.serverCommand(DBHUB);
  } catch {
    return `${DBHUB} is not installed (pnpm add ${DBHUB})`;
  }
  return undefined;
}

/** DBHub over stdio on one SQLite file, as an `mcpServers` entry. */
export function dbhubServer(context: ScenarioContext, file: string) {
  const server = context.serverCommand(DBHUB);
  return {
    command: server.command,
    args: [...server.args, "--transport", "stdio", "--dsn", `sqlite://${file}`],
  };
}

export interface Order {
  id: number;
  customer: string;
  amountCents: number;
  status: "paid" | "refunded" | "open";
  createdAt: string;
}

const CUSTOMERS = ["acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "wonka"];

/**
 * A real SQLite file of `count` orders (node:sqlite, built into Node), the same on every run.
 * Returns the rows as written.
 */
export async function writeOrdersDatabase(file: string, count: number): Promise<Order[]> {
  const { DatabaseSync } = await import("node:sqlite");
  const rnd = seeded(2026);
  const db = new DatabaseSync(file);
  try {
    db.exec(
      "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT NOT NULL, amount_cents INTEGER NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL)",
    );
    const insert = db.prepare(
      "INSERT INTO orders (id, customer, amount_cents, status, created_at) VALUES (?, ?, ?, ?, ?)",
    );
    const orders: Order[] = [];
    db.exec("BEGIN");
    for (let i = 1; i <= count; i++) {
      const r = rnd();
      const order: Order = {
        id: 100_000 + i,
        customer: CUSTOMERS[Math.floor(rnd() * CUSTOMERS.length)]!,
        amountCents: 500 + Math.floor(rnd() * 200_000),
        status: r < 0.8 ? "paid" : r < 0.9 ? "refunded" : "open",
        createdAt: new Date(Date.UTC(2026, 9, 1) + i * 517_000).toISOString(),
      };
      insert.run(order.id, order.customer, order.amountCents, order.status, order.createdAt);
      orders.push(order);
    }
    db.exec("COMMIT");
    return orders;
  } finally {
    db.close();
  }
}

/** The database file of a scenario's work directory. */
export function databaseFile(context: ScenarioContext): string {
  return join(context.workDir, "shop.sqlite");
}
