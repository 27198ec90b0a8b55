/**
 * The search benchmark of core (bench/search: 310 real tools, 195 tuning and 105 held-out
 * prompts) with Universal Sentence Encoder lite: the vector ranking alone, and the catalog's
 * hybrid ranking (lexical and vector ranks fused) at the default weight and at the weight
 * chosen on the tuning part. Also the model's load time, its cost per text and the memory it adds.
 *
 *   node bench/search.ts           the figures
 *   node bench/search.ts --sweep   fusion k and vector weight on the tuning part only
 *
 * Needs `pnpm build` first (core's catalog and this package, built).
 */
import {
  type Embedder,
  reciprocalRankFusion,
  ToolCatalog,
  type UpstreamTool,
} from "@mcp-optimizer/core";
import { evaluate, loadPrompts, loadServers, pct } from "../../core/bench/search/run.ts";
import { createUseEmbedder } from "../dist/index.js";

/** The weight of the vector ranking chosen on the tuning part (`--sweep`). */
const CHOSEN_WEIGHT = 0.2;

/** Counts texts and time, and remembers vectors so each catalog below does not embed again. */
function measured(inner: Embedder) {
  const cache = new Map<string, number[]>();
  const stats = { texts: 0, ms: 0 };
  const embedder: Embedder = {
    name: inner.name,
    async embed(texts) {
      const missing = [...new Set(texts.filter((t) => !cache.has(t)))];
      if (missing.length > 0) {
        const started = performance.now();
        const vectors = await inner.embed(missing);
        stats.ms += performance.now() - started;
        stats.texts += missing.length;
        for (const [i, t] of missing.entries()) cache.set(t, vectors[i]!);
      }
      return texts.map((t) => cache.get(t)!);
    },
  };
  return { embedder, stats };
}

function catalogOf(
  servers: { name: string; tools: UpstreamTool[] }[],
  embedder?: Embedder,
  vectorWeight?: number,
  limit = 10,
) {
  const catalog = new ToolCatalog();
  catalog.update(servers);
  if (embedder) catalog.configureSearch({ embedder, ...(vectorWeight ? { vectorWeight } : {}) });
  return async (q: string) =>
    (await catalog.search(q, { limit, detail: "name" })).map((h) => h.name);
}

const mb = (bytes: number) => `${Math.round(bytes / 1e6)} MB`;

async function main(): Promise<void> {
  const servers = loadServers();
  const use = createUseEmbedder();
  const rss0 = process.memoryUsage().rss;
  let started = performance.now();
  await use.embed(["warm up"]);
  const loadMs = performance.now() - started;
  const { embedder, stats } = measured(use);

  started = performance.now();
  const hybrid = catalogOf(servers, embedder);
  await hybrid("warm up"); // embeds every tool
  const toolsMs = performance.now() - started;
  const toolTexts = stats.texts - 1;

  if (process.argv.includes("--sweep")) {
    await sweep(servers, embedder);
    await use.close();
    return;
  }

  const rankers: [string, (q: string) => Promise<string[]>][] = [
    ["lexical alone", catalogOf(servers)],
    // A weight this large leaves lexical ranks only to break ties: the vector ranking alone.
    ["vector alone (cosine)", catalogOf(servers, embedder, 1e6)],
    ["hybrid, RRF k=60, vector weight 1 (default)", hybrid],
    [
      `hybrid, RRF k=60, vector weight ${CHOSEN_WEIGHT}`,
      catalogOf(servers, embedder, CHOSEN_WEIGHT),
    ],
  ];
  const rows: Record<string, Record<string, string>> = {};
  const before = { ...stats };
  for (const [label, rank] of rankers) {
    const row: Record<string, string> = {};
    for (const part of ["tune", "heldout"] as const) {
      const f = await evaluate(loadPrompts(part), rank);
      row[`${part} (${f.n}): top-1 / top-3 / MRR`] =
        `${pct(f.top1)} / ${pct(f.top3)} / ${f.mrr.toFixed(3)}`;
    }
    rows[label] = row;
  }
  const queries = stats.texts - before.texts;
  const queryMs = (stats.ms - before.ms) / Math.max(1, queries);
  console.log(`${use.name}; ${toolTexts} tools from ${servers.length} servers`);
  console.table(rows);
  console.table({
    "model load (worker start, load, first text)": `${loadMs.toFixed(0)} ms`,
    "embedding every tool (first hybrid search)": `${(toolsMs / 1000).toFixed(1)} s, ${(toolsMs / toolTexts).toFixed(1)} ms per tool`,
    "embedding a request": `${queryMs.toFixed(1)} ms (${queries} requests)`,
    "RSS added (worker, model, vectors)": mb(process.memoryUsage().rss - rss0),
  });
  await use.close();
}

/** Fusion k and vector weight, on the tuning part only: the held-out part is never tuned on. */
async function sweep(
  servers: { name: string; tools: UpstreamTool[] }[],
  embedder: Embedder,
): Promise<void> {
  const prompts = loadPrompts("tune");
  const lexical = new ToolCatalog();
  lexical.update(servers);
  // The vector list the catalog fuses: its top 50, from a catalog where it alone decides.
  const vectorRank = catalogOf(servers, embedder, 1e6, 50);
  const lists = new Map<string, [{ id: string }[], { id: string }[]]>();
  for (const p of prompts) {
    const words = (await lexical.search(p.q, { limit: 50, detail: "name" })).map((h) => ({
      id: h.name,
    }));
    const vectors = (await vectorRank(p.q)).map((id) => ({ id }));
    lists.set(p.q, [words, vectors]);
  }
  const rows: Record<string, Record<string, string>> = {};
  for (const k of [10, 30, 60, 120]) {
    const row: Record<string, string> = {};
    for (const w of [0, 0.1, 0.2, 0.3, 0.5, 1]) {
      const f = await evaluate(prompts, (q) =>
        reciprocalRankFusion(lists.get(q)!, k, [1, w])
          .slice(0, 10)
          .map((h) => h.id),
      );
      row[`w=${w}`] = `${pct(f.top1)} ${f.mrr.toFixed(3)}`;
    }
    rows[`k=${k}`] = row;
  }
  console.log("Tuning part: top-1 and MRR of RRF by k (rows) and vector weight (columns)");
  console.table(rows);
}

await main();
