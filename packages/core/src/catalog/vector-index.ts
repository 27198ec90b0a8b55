import { createHash } from "node:crypto";
import type { Embedder } from "../contracts/embedder.js";

export interface VectorIndexOptions {
  /** Texts sent per embed() call. Default 64. */
  batchSize?: number;
  /** Vectors kept at most (tool definitions and queries). Default 20000. */
  maxVectors?: number;
}

/**
 * Tool vectors for hybrid search, cached per (model, definition text) hash: a catalog rebuild
 * embeds only tools whose definitions changed. Ranks by cosine similarity to the query's vector.
 */
export class VectorIndex {
  private readonly vectors = new Map<string, Float32Array>();
  private readonly batchSize: number;
  private readonly maxVectors: number;
  private docs: { id: string; key: string }[] = [];

  constructor(
    readonly embedder: Embedder,
    options: VectorIndexOptions = {},
  ) {
    this.batchSize = Math.max(1, options.batchSize ?? 64);
    this.maxVectors = Math.max(1, options.maxVectors ?? 20_000);
  }

  /** Sets the tools to rank; embeds those not cached yet. */
  async prepare(docs: readonly { id: string; text: string }[]): Promise<void> {
    const keyed = docs.map((d) => ({ id: d.id, key: this.key(d.text), text: d.text }));
    await this.embedMissing(keyed);
    this.docs = keyed.map(({ id, key }) => ({ id, key }));
  }

  /** Tool ids by cosine similarity to the query, best first. */
  async rank(query: string, limit: number): Promise<{ id: string; score: number }[]> {
    const key = this.key(`query: ${query}`);
    await this.embedMissing([{ key, text: query }]);
    const q = this.vectors.get(key)!;
    const out: { id: string; score: number }[] = [];
    for (const d of this.docs) {
      const v = this.vectors.get(d.key);
      if (v) out.push({ id: d.id, score: cosine(q, v) });
    }
    out.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
    return out.slice(0, limit);
  }

  /** Vectors held (tools and queries). */
  get size(): number {
    return this.vectors.size;
  }

  private async embedMissing(items: readonly { key: string; text: string }[]): Promise<void> {
    const missing = items.filter((i) => !this.vectors.has(i.key));
    for (let i = 0; i < missing.length; i += this.batchSize) {
      const batch = missing.slice(i, i + this.batchSize);
      const vectors = await this.embedder.embed(batch.map((b) => b.text));
      batch.forEach((b, j) => {
        const v = vectors[j];
        if (v) this.vectors.set(b.key, normalise(v));
      });
    }
    while (this.vectors.size > this.maxVectors)
      this.vectors.delete(this.vectors.keys().next().value as string);
  }

  private key(text: string): string {
    return createHash("sha256").update(`${this.embedder.name}\u0000${text}`).digest("hex");
  }
}

function normalise(v: readonly number[]): Float32Array {
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm) || 1;
  return Float32Array.from(v, (x) => x / norm);
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) dot += a[i]! * b[i]!;
  return dot;
}

/**
 * Reciprocal rank fusion: each list contributes weight / (k + rank) for every id it ranks
 * (rank from 1; weight 1 unless given). Robust to scores on different scales; k = 60 as in
 * Cormack et al. (2009). A weight below 1 lets a weaker ranker reorder only near-ties of the others.
 */
export function reciprocalRankFusion(
  lists: readonly (readonly { id: string }[])[],
  k = 60,
  weights: readonly number[] = [],
): { id: string; score: number }[] {
  const scores = new Map<string, number>();
  lists.forEach((list, j) => {
    const weight = weights[j] ?? 1;
    list.forEach((item, i) => {
      scores.set(item.id, (scores.get(item.id) ?? 0) + weight / (k + i + 1));
    });
  });
  return [...scores]
    .map(([id, score]) => ({ id, score }))
    .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
}
