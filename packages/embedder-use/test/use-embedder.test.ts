import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ErrorCodes, ToolCatalog, type UpstreamTool } from "@mcp-optimizer/core";
import { describeEmbedder } from "@mcp-optimizer/core/testing";
import { afterAll, describe, expect, test } from "vitest";
import { createUseEmbedder } from "../src/index.js";

// One embedder for the file: the model loads once.
const embedder = createUseEmbedder();
afterAll(() => embedder.close());

describeEmbedder("Universal Sentence Encoder lite", () => embedder);

/** Real tool lists of the search benchmark (bench/search/tools in core). */
function servers(...names: string[]): { name: string; tools: UpstreamTool[] }[] {
  return names.map((name) => {
    const file = new URL(`../../core/bench/search/tools/${name}.json`, import.meta.url);
    return { name, tools: JSON.parse(readFileSync(file, "utf8")).tools as UpstreamTool[] };
  });
}

describe("hybrid search with the Universal Sentence Encoder", () => {
  test("ranks first what only the meaning names: words alone rank another server's tool first", async () => {
    const real = servers(
      "kubernetes",
      "postgres",
      "brave_search",
      "google_maps",
      "slack",
      "memory",
    );
    const lexical = new ToolCatalog();
    lexical.update(real);
    const hybrid = new ToolCatalog();
    hybrid.update(real);
    hybrid.configureSearch({ embedder, vectorWeight: 0.2 });
    const first = async (catalog: ToolCatalog, query: string) =>
      (await catalog.search(query, { limit: 1, detail: "name" }))[0]?.name;

    // No word of the request is in memory.read_graph's name or description ("Read the entire knowledge graph").
    const query = "dump everything you remember";
    expect(await first(lexical, query)).toBe("memory.open_nodes");
    expect(await first(hybrid, query)).toBe("memory.read_graph");
    // A request whose words match keeps its lexical winner.
    expect(await first(hybrid, "post a message to the #general channel")).toBe(
      "slack.slack_post_message",
    );
  });

  test("the model runs off the main thread: the event loop keeps turning while it embeds", async () => {
    const texts = Array.from(
      { length: 24 },
      (_, i) => `List the pods of namespace ${i} with their status, restarts and age.`,
    );
    let last = performance.now();
    let longest = 0;
    const tick = setInterval(() => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
    }, 5);
    const started = performance.now();
    await embedder.embed(texts);
    const took = performance.now() - started;
    clearInterval(tick);
    expect(took).toBeGreaterThan(100); // long enough for a stall to show
    expect(longest).toBeLessThan(100);
  });
});

describe("failures are typed", () => {
  test("a model that cannot be loaded rejects with UPSTREAM_UNAVAILABLE, every time it is asked", async () => {
    const broken = createUseEmbedder({ modelDir: mkdtempSync(join(tmpdir(), "no-model-")) });
    try {
      expect(broken.name).toMatch(/^universal-sentence-encoder-lite@/);
      for (let i = 0; i < 2; i++) {
        const error = await broken.embed(["x"]).catch((e) => e);
        expect(error).toMatchObject({ code: ErrorCodes.UPSTREAM_UNAVAILABLE });
        expect(error.message).toMatch(/could not be loaded/);
      }
    } finally {
      await broken.close();
    }
  });

  test("a call past timeoutMs rejects with UPSTREAM_TIMEOUT; an aborted one with details.aborted; bad options with INVALID_CONFIG", async () => {
    const slow = createUseEmbedder({ timeoutMs: 1 });
    try {
      await expect(slow.embed(["x"])).rejects.toMatchObject({ code: ErrorCodes.UPSTREAM_TIMEOUT });
    } finally {
      await slow.close();
    }
    await expect(embedder.embed(["x"], { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: ErrorCodes.UPSTREAM_UNAVAILABLE,
      details: { aborted: true },
    });
    expect(() => createUseEmbedder({ batchSize: 0 })).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_CONFIG }),
    );
  });
});
