import { describe, expect, test } from "vitest";
import type { Embedder } from "../contracts/embedder.js";

export interface DescribeEmbedderOptions {
  /** Per-test timeout for vitest, in ms. Default 30000. */
  testTimeoutMs?: number;
}

const cosine = (a: number[], b: number[]) => {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / (Math.sqrt(na) * Math.sqrt(nb) || 1);
};

/**
 * The Embedder conformance suite, against a real model or endpoint:
 * `describeEmbedder("ollama nomic-embed-text", () => createOpenAIEmbedder({ ... }))`.
 */
export function describeEmbedder(
  name: string,
  factory: () => Embedder | Promise<Embedder>,
  options: DescribeEmbedderOptions = {},
): void {
  const timeout = options.testTimeoutMs ?? 30_000;
  describe(`Embedder conformance: ${name}`, () => {
    test(
      "one vector per text, in order, of one dimension; stable for the same text; none for none",
      async () => {
        const e = await factory();
        expect(e.name).toMatch(/\S/);
        const texts = ["list the files in a folder", "post a message to a channel", "日本語 🚀"];
        const vectors = await e.embed(texts);
        expect(vectors).toHaveLength(3);
        const dim = vectors[0]!.length;
        expect(dim).toBeGreaterThan(0);
        for (const v of vectors) {
          expect(v).toHaveLength(dim);
          expect(v.every((x) => Number.isFinite(x))).toBe(true);
        }
        const again = await e.embed([texts[1]!]);
        expect(cosine(again[0]!, vectors[1]!)).toBeGreaterThan(0.999);
        expect(await e.embed([])).toEqual([]);
      },
      timeout,
    );

    test(
      "texts about the same thing are closer than texts about different things",
      async () => {
        const e = await factory();
        const [a, b, c] = await e.embed([
          "list all files in the directory",
          "list the files in a directory tree",
          "send a chat message to the team channel",
        ]);
        expect(cosine(a!, b!)).toBeGreaterThan(cosine(a!, c!));
      },
      timeout,
    );
  });
}
