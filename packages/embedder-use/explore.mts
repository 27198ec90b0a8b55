import { ToolCatalog } from "@mcp-optimizer/core";
import { createUseEmbedder } from "./dist/index.js";
import { loadServers, loadPrompts } from "../core/bench/search/run.ts";
const names = ["kubernetes", "postgres", "brave_search", "google_maps", "slack", "memory", "everything"];
const servers = loadServers().filter(s => names.includes(s.name));
const embedder = createUseEmbedder();
const lex = new ToolCatalog(); lex.update(servers);
const hy = new ToolCatalog(); hy.update(servers); hy.configureSearch({ embedder, vectorWeight: 0.2 });
const ps = [];
ps.push(...["search the web for the latest node release", "google the weather in Paris", "find news articles about the election", "add these two numbers", "how far is it from Berlin to Munich by car", "how do I drive from the airport to downtown", "is the database table of orders big", "run this SQL", "restart the crashed container", "what is the height of the Eiffel tower above sea level", "store a fact about my friend Bob", "who works at acme according to what you know", "send a DM to Jane", "which coffee shops are near the office"].map(q => ({ q, accept: [] })));
for (const p of ps) {
  const a = (await lex.search(p.q, { limit: 1, detail: "name" }))[0]?.name;
  const b = (await hy.search(p.q, { limit: 1, detail: "name" }))[0]?.name;
  console.log(p.accept.includes(a) ? "LEX" : p.accept.includes(b) ? "HYB" : "---", p.q, "|", a, "->", b, "| want", p.accept.join(","));
}
await embedder.close();
