import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  billedTokens,
  createO200kTokenizer,
  createPricing,
  MCPOptimizer,
  roundTripsOf,
  TOON_FORMAT_LINE,
} from "../src/index.js";
import { everythingServer } from "./helpers/servers.js";

describe("billed tokens (logic)", () => {
  test("one round trip of work: single pass, cumulative, cumulative with a cache", () => {
    // Reads 100, writes 10, reads 50 back, answers reading all 160.
    const billed = billedTokens({ definitions: 100, steps: [{ output: 10, results: 50 }] }, 0.1);
    expect(billed).toEqual({
      singlePass: 160,
      cumulative: 110 + 160,
      // Round trip 2 re-reads the 100 it read before at a tenth; the 60 new tokens in full.
      cumulativeCached: 110 + 10 + 60,
      roundTrips: 2,
    });
  });

  test("more round trips cost more than one pass, and a cache takes most of it back", () => {
    const steps = Array.from({ length: 50 }, () => ({ output: 20, results: 80 }));
    const billed = billedTokens({ definitions: 2000, steps }, 0.1);
    expect(billed.singlePass).toBe(2000 + 50 * 100);
    expect(billed.roundTrips).toBe(51);
    // Σ over 51 round trips of a context growing by 100 each time, plus 50 outputs of 20.
    let expected = 0;
    for (let k = 0; k <= 50; k++) expected += 2000 + 100 * k;
    expect(billed.cumulative).toBe(expected + 50 * 20);
    expect(billed.cumulativeCached).toBeLessThan(billed.cumulative / 3);
    expect(billed.cumulativeCached).toBeGreaterThan(billed.singlePass);
    // A rate of 1 is no cache at all.
    expect(billedTokens({ definitions: 2000, steps }, 1).cumulativeCached).toBe(billed.cumulative);
  });

  test("calls that overlap share a round trip; a call after an answer starts the next", () => {
    const c = (startedMs: number, endedMs: number) => ({ startedMs, endedMs });
    // Sequential chain: one round trip each.
    expect(roundTripsOf([c(0, 1), c(1, 2), c(2, 3)]).length).toBe(3);
    // Promise.all of three, then one that uses them.
    expect(roundTripsOf([c(0, 5), c(0.1, 3), c(0.2, 4), c(5, 6)]).map((t) => t.length)).toEqual([
      3, 1,
    ]);
    // Started after one answer of the round trip had come: it may depend on it.
    expect(roundTripsOf([c(0, 10), c(0, 2), c(3, 4)]).map((t) => t.length)).toEqual([2, 1]);
    expect(roundTripsOf([])).toEqual([]);
  });

  test("the cache rate is checked", () => {
    expect(createPricing().cachedInputRate).toBe(0.1);
    expect(() => createPricing({ cachedInputRate: 1.5 })).toThrow(
      expect.objectContaining({ code: "INVALID_CONFIG" }),
    );
  });
});

describe("an execution's figures on a real server", () => {
  let optimizer: MCPOptimizer;
  let tokenizer: Awaited<ReturnType<typeof createO200kTokenizer>>;
  beforeAll(async () => {
    tokenizer = await createO200kTokenizer();
    optimizer = new MCPOptimizer({
      mcpServers: { everything: everythingServer() },
      requireUpstreams: true,
      pricing: { cachedInputRate: 0.25 },
    });
    await optimizer.start();
  }, 60_000);
  afterAll(async () => {
    await optimizer?.close();
    await tokenizer?.close();
  });

  test("sequential calls are plain MCP round trips; parallel ones share one", async () => {
    const result = await optimizer.run(`
      const a = await everything.get_sum({ a: 1, b: 2 });
      const b = await everything.get_sum({ a: 3, b: 4 });
      const both = await Promise.all([everything.echo({ message: "x" }), everything.echo({ message: "y" })]);
      return [a, b, both.length];`);
    const t = result.tokens;
    expect(t.roundTrips).toEqual({ used: 2, plainMcp: 4 });
    expect(t.cumulativeCached.cachedInputRate).toBe(0.25);
    // Counted as billed, each path costs more than one pass; plain MCP grows faster.
    expect(t.cumulative.used).toBeGreaterThan(t.used);
    expect(t.cumulative.plainMcp).toBeGreaterThan(t.plainMcp);
    expect(t.cumulative.plainMcp / t.plainMcp).toBeGreaterThan(t.cumulative.used / t.used);
    expect(t.cumulativeCached.used).toBeLessThan(t.cumulative.used);
    expect(t.cumulativeCached.plainMcp).toBeLessThan(t.cumulative.plainMcp);
    // Code mode: reads the meta-tools and writes the program, then reads both again with the
    // result: twice everything but the result.
    const resultTokens = tokenizer.count(result.text);
    expect(t.cumulative.used).toBe(2 * t.used - resultTokens);
  }, 30_000);

  test("results are written in the cheapest faithful encoding; a setting forces one", async () => {
    const program = `return Array.from({ length: 30 }, (_, i) => ({ id: i, name: "item-" + i, ok: i % 2 === 0 }));`;
    const auto = await optimizer.run(program);
    expect(auto.encoding).toBe("toon");
    expect(auto.text.startsWith(`${TOON_FORMAT_LINE}\n[30]{id,name,ok}:`)).toBe(true);
    const forced = new MCPOptimizer({ resultEncoding: "json" });
    try {
      const json = await forced.run(program);
      expect(json.encoding).toBe("json");
      expect(JSON.parse(json.text)).toEqual(auto.value);
      expect(tokenizer.count(json.text)).toBeGreaterThan(tokenizer.count(auto.text));
    } finally {
      await forced.close();
    }
    const text = await optimizer.run(`return "done"`);
    expect(text.encoding).toBe("text");
    expect(text.text).toBe("done");
  }, 30_000);
});
