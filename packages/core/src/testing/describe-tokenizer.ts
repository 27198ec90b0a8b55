import { describe, expect, test } from "vitest";
import type { Tokenizer } from "../contracts/tokenizer.js";

/** The Tokenizer conformance suite: deterministic, additive enough, total on any text. */
export function describeTokenizer(
  name: string,
  factory: () => Tokenizer | Promise<Tokenizer>,
): void {
  describe(`Tokenizer conformance: ${name}`, () => {
    test("has a stable name and counts nothing as zero", async () => {
      const t = await factory();
      expect(t.name).toMatch(/\S/);
      expect(t.count("")).toBe(0);
    });

    test("is deterministic and grows with the text", async () => {
      const t = await factory();
      const text = JSON.stringify({
        issues: Array.from({ length: 50 }, (_, i) => ({ id: i, title: `Bug ${i}` })),
      });
      expect(t.count(text)).toBe(t.count(text));
      expect(t.count(text + text)).toBeGreaterThan(t.count(text));
      const a = "The quick brown fox jumps over the lazy dog. ";
      const sum = t.count(a) * 100;
      const joined = t.count(a.repeat(100));
      expect(joined).toBeGreaterThan(sum * 0.5);
      expect(joined).toBeLessThan(sum * 1.5);
    });

    test("counts any text without throwing: unicode, control and special-token markers", async () => {
      const t = await factory();
      for (const text of [
        "日本語のテキスト",
        "emoji 🚀🔥",
        "\u0000\u0001\u2028",
        "<|endoftext|> <|im_start|>",
        "x".repeat(100_000),
      ]) {
        const n = t.count(text);
        expect(Number.isInteger(n)).toBe(true);
        expect(n).toBeGreaterThan(0);
      }
    });
  });
}
