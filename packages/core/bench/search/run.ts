/**
 * The search benchmark: how often the catalog's search puts the right tool first, on real
 * tool lists of 20 MCP servers from npm (bench/search/tools, 310 tools) and 300 prompts
 * written the way users ask (bench/search/prompts-*.json). The prompts were split by a
 * seeded shuffle before any tuning: the tuning part may be tuned on, the held-out part never.
 * A prompt may accept several tools when servers overlap (three browser servers all click).
 *
 *   node bench/search/run.ts              both parts
 *   node bench/search/run.ts --misses     also list the tuning part's misses
 *   node bench/search/run.ts --tune-only  only the tuning part (while tuning)
 *
 * Needs `pnpm build` first (it runs the built catalog).
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ToolCatalog, type UpstreamTool } from "../../dist/index.js";

const here = dirname(fileURLToPath(import.meta.url));

export interface Prompt {
  q: string;
  accept: string[];
}

export function loadServers(): { name: string; tools: UpstreamTool[] }[] {
  return readdirSync(join(here, "tools"))
    .filter((f) => f.endsWith(".json"))
    .map((f) => {
      const d = JSON.parse(readFileSync(join(here, "tools", f), "utf8"));
      return { name: d.server as string, tools: d.tools as UpstreamTool[] };
    });
}

export function loadPrompts(part: "tune" | "heldout"): Prompt[] {
  return JSON.parse(readFileSync(join(here, `prompts-${part}.json`), "utf8")).prompts;
}

export interface Figures {
  top1: number;
  top3: number;
  mrr: number;
  n: number;
  misses: { q: string; want: string[]; got: string[] }[];
}

/** Top-1, top-3 and mean reciprocal rank of a ranking function over prompts. */
export async function evaluate(
  prompts: Prompt[],
  rank: (q: string) => Promise<string[]> | string[],
): Promise<Figures> {
  let top1 = 0;
  let top3 = 0;
  let rr = 0;
  const misses: Figures["misses"] = [];
  for (const p of prompts) {
    const got = await rank(p.q);
    const at = got.findIndex((id) => p.accept.includes(id));
    if (at === 0) top1++;
    else misses.push({ q: p.q, want: p.accept, got: got.slice(0, 3) });
    if (at >= 0 && at < 3) top3++;
    if (at >= 0) rr += 1 / (at + 1);
  }
  const n = prompts.length;
  return { top1: top1 / n, top3: top3 / n, mrr: rr / n, n, misses };
}

export const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

async function main(): Promise<void> {
  const servers = loadServers();
  const catalog = new ToolCatalog();
  catalog.update(servers);
  const rank = async (q: string) =>
    (await catalog.search(q, { limit: 10, detail: "name" })).map((h) => h.name);
  const rows: Record<string, Record<string, string>> = {};
  const parts = process.argv.includes("--tune-only")
    ? (["tune"] as const)
    : (["tune", "heldout"] as const);
  for (const part of parts) {
    const f = await evaluate(loadPrompts(part), rank);
    rows[`catalog search, ${part} (${f.n} prompts)`] = {
      top1: pct(f.top1),
      top3: pct(f.top3),
      MRR: f.mrr.toFixed(3),
    };
    if (part === "tune" && process.argv.includes("--misses")) {
      for (const m of f.misses)
        console.log(`MISS ${m.q}\n  want ${m.want.join(" | ")}\n  got  ${m.got.join(", ")}`);
    }
  }
  console.log(`${catalog.toolCount} tools from ${servers.length} servers`);
  console.table(rows);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
