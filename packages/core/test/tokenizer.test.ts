import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { countTokens } from "gpt-tokenizer/encoding/o200k_base";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createO200kTokenizer } from "../src/index.js";

type O200k = Awaited<ReturnType<typeof createO200kTokenizer>>;
const ordinary = { disallowedSpecial: new Set<string>() };
const root = join(import.meta.dirname, "..", "..", "..");

describe("o200k tokenizer", () => {
  let tokenizer: O200k;
  beforeAll(async () => {
    tokenizer = await createO200kTokenizer({ workerAboveChars: 32 * 1024 });
  });
  afterAll(() => tokenizer?.close());

  test("counts ordinary text exactly as gpt-tokenizer does", async () => {
    const docs = readdirSync(join(root, "docs"))
      .filter((f) => f.endsWith(".md"))
      .map((f) => readFileSync(join(root, "docs", f), "utf8"))
      .join("\n")
      // A pre-token longer than 256 characters (a wide table's ruler) is counted in chunks,
      // within a token per chunk (documented); ordinary prose has none.
      .replace(/-{200,}/g, "---");
    const texts = {
      docs,
      code: readFileSync(join(root, "packages/core/src/engine/execution-host.ts"), "utf8"),
      json: JSON.stringify(
        Array.from({ length: 500 }, (_, i) => ({ id: i, title: `Issue ${i}`, tags: ["a"] })),
        null,
        2,
      ),
      cjk: "日本語のテキストです。これは普通の文章で、句読点があります。中文文本，这是一个段落。".repeat(
        50,
      ),
      mixed:
        "emoji 🚀🔥 <|endoftext|> \u0000\u2028 a\u0301 \r\n\t  x  \n\n  1234567 -- ok's".repeat(
          100,
        ),
      base64: randomBytes(30_000).toString("base64"),
    };
    for (const [name, text] of Object.entries(texts)) {
      const expected = countTokens(text, ordinary);
      expect({ name, count: tokenizer.count(text) }).toEqual({ name, count: expected });
      expect({ name, count: await tokenizer.countAsync!(text) }).toEqual({
        name,
        count: expected,
      });
    }
  });

  test("adversarial inputs count in linear time (gpt-tokenizer alone takes minutes on these)", async () => {
    // BPE over one 256 KiB pre-token is quadratic: ~40 s for 'a', minutes for CJK or emoji.
    const size = 256 * 1024;
    const started = performance.now();
    for (const unit of ["a", " ", "\n", ".", "A", "中", "😀", "aé"]) {
      const text = unit.repeat(size / unit.length);
      const n = tokenizer.count(text);
      expect(n).toBeGreaterThan(0);
      expect(n).toBeLessThanOrEqual(text.length);
      // Chunked long pre-tokens stay close to the exact count (a token per chunk at most).
      const sample = unit.repeat(2048 / unit.length);
      const exact = countTokens(sample, ordinary);
      expect(Math.abs(tokenizer.count(sample) - exact)).toBeLessThanOrEqual(8 + exact * 0.05);
    }
    expect(await tokenizer.countAsync!(`${"x".repeat(size)} and more`)).toBeGreaterThan(0);
    expect(performance.now() - started).toBeLessThan(10_000);
  }, 60_000);

  test("countAsync of a large text leaves the event loop free, and agrees with count", async () => {
    const text = randomBytes(512 * 1024).toString("latin1");
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    try {
      const counted = await tokenizer.countAsync!(text);
      expect(counted).toBe(tokenizer.count(text));
    } finally {
      clearInterval(timer);
    }
    // Counting 512 KiB of random bytes takes about a second of CPU; a blocked loop ticks 0 times.
    expect(ticks).toBeGreaterThan(10);
  }, 60_000);

  test("countAsync in slices on the event loop (no worker) also yields", async () => {
    const sliced = await createO200kTokenizer({ workerAboveChars: 0, sliceMs: 5 });
    const text = randomBytes(256 * 1024).toString("latin1");
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      expect(await sliced.countAsync!(text)).toBe(tokenizer.count(text));
    } finally {
      clearInterval(timer);
      await sliced.close();
    }
    expect(ticks).toBeGreaterThan(5);
  }, 60_000);
});
