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
import {
  createMemoryToolUsageStore,
  ToolCatalog,
  type ToolUsageStore,
  type UpstreamTool,
} from "../../dist/index.js";

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

/** A seeded generator, so every run simulates the same sessions. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Simulated use: each session asks one of the tuning prompts. The model searches with the
 * user's words; when the right tool is not among the first five hits it searches again with
 * the tool's own words (as models do); then the program calls the right tool.
 */
async function simulate(
  catalog: ToolCatalog,
  tenant: string,
  prompts: Prompt[],
  sessions: number,
  seed: number,
  from = 0,
): Promise<void> {
  const next = random(seed);
  for (let i = from; i < from + sessions; i++) {
    const p = prompts[Math.floor(next() * prompts.length)]!;
    const id = `sim-${i}`;
    const tool = p.accept[0]!;
    const hits = await catalog.search(p.q, { tenant, sessionId: id, limit: 5, detail: "name" });
    if (!hits.some((h) => p.accept.includes(h.name))) {
      await catalog.search(tool.replace(/[._-]/g, " "), {
        tenant,
        sessionId: id,
        limit: 5,
        detail: "name",
      });
    }
    catalog.noteCall(tenant, id, tool);
  }
  await new Promise((r) => setTimeout(r, 10));
}

/** One session that calls a wrong tool after every prompt, a thousand times. */
async function poison(catalog: ToolCatalog, tenant: string, prompts: Prompt[]): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    const p = prompts[i % prompts.length]!;
    const hits = await catalog.search(p.q, { tenant, sessionId: "attacker", limit: 5 });
    const wrong = hits.find((h) => !p.accept.includes(h.name));
    if (wrong) catalog.noteCall(tenant, "attacker", wrong.name);
  }
  await new Promise((r) => setTimeout(r, 10));
}

async function learnedFigures(servers: { name: string; tools: UpstreamTool[] }[]): Promise<void> {
  const tune = loadPrompts("tune");
  const heldout = loadPrompts("heldout");
  const store: ToolUsageStore = createMemoryToolUsageStore();
  const catalog = new ToolCatalog();
  catalog.update(servers);
  catalog.configureSearch({ usage: store });
  const rankFor = (tenant: string) => async (q: string) =>
    (await catalog.search(q, { limit: 10, detail: "name", tenant })).map((h) => h.name);
  const rows: Record<string, Record<string, string>> = {};
  const row = async (label: string, tenant: string) => {
    const t = await evaluate(tune, rankFor(tenant));
    const h = await evaluate(heldout, rankFor(tenant));
    rows[label] = {
      "top1, requests asked before (tuning)": pct(t.top1),
      "top1, new wording (held-out)": pct(h.top1),
      "top3, new wording (held-out)": pct(h.top3),
    };
  };
  await row("no use yet", "acme");
  let done = 0;
  for (const n of [50, 200, 500, 1000]) {
    await simulate(catalog, "acme", tune, n - done, 7, done);
    done = n;
    await row(`after ${n} sessions (tuning prompts)`, "acme");
  }
  await poison(catalog, "acme", tune);
  await row("after 1000 sessions + 1 poisoning session", "acme");
  await poison(catalog, "fresh", tune);
  await row("another tenant: only the poisoning session", "fresh");
  console.log(
    "\nLearned from use: sessions ask tuning prompts; held-out prompts (other wording) measure what carries over.",
  );
  console.table(rows);
}

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
  if (!process.argv.includes("--tune-only")) await learnedFigures(servers);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
