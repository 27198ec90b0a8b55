import type { ToolUsageStore } from "../contracts/tool-usage-store.js";

export interface LearnedRankingOptions {
  /** Where (term, tool) pairs are kept, per tenant. */
  store: ToolUsageStore;
  /** Sessions a (term, tool) pair needs before it counts at all: one session alone changes nothing. Default 2. */
  minSessions?: number;
  /**
   * Most a learned signal adds to a tool's score, on the scale where a tool matching every
   * word of the request as well as possible scores about 1. Default 1.5.
   */
  weight?: number;
  /** Pseudo-count of other tools per term: a few sessions cannot claim a whole word. Default 1. */
  smoothing?: number;
  /** Sessions at which a pair's evidence counts half (n / (n + confidence)). Default 2. */
  confidence?: number;
  /**
   * How much a tool's evidence must span the request: the bonus is scaled by the share of
   * the request's words (by idf) that led to the tool, to this power. A word all requests
   * use ("show") then cannot carry a tool into unrelated requests. Default 2.
   */
  coverage?: number;
}

/**
 * Ranking learned from use: how often, for this tenant, the words of a request were followed
 * by a call to each tool. For each word, a tool's share of the sessions that called a tool
 * after searching it (counted from the `minSessions`-th session on), times how sure that
 * many sessions make it, weighted by the word's idf; the sum is bounded by `weight`. No
 * single session can move a ranking, and no number of sessions can add more than `weight`.
 */
export class LearnedRanking {
  readonly store: ToolUsageStore;
  private readonly minSessions: number;
  private readonly weight: number;
  private readonly smoothing: number;
  private readonly confidence: number;
  private readonly coverage: number;
  private readonly pending = new Set<Promise<void>>();

  constructor(options: LearnedRankingOptions) {
    this.store = options.store;
    this.minSessions = Math.max(1, options.minSessions ?? 2);
    this.weight = Math.max(0, options.weight ?? 1.5);
    this.smoothing = Math.max(0, options.smoothing ?? 1);
    this.confidence = Math.max(0, options.confidence ?? 2);
    this.coverage = Math.max(0, options.coverage ?? 2);
  }

  /** tool id -> bonus in [0, weight], for a request's terms and their idf. */
  async scores(
    tenant: string,
    terms: readonly { term: string; idf: number }[],
  ): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (terms.length === 0 || this.weight === 0) return out;
    let found: Map<string, Map<string, number>>;
    try {
      found = await this.store.lookup(
        tenant,
        terms.map((t) => t.term),
      );
    } catch {
      return out; // a store that is down leaves the lexical ranking as it is
    }
    const totalIdf = terms.reduce((a, t) => a + t.idf, 0) || 1;
    const covered = new Map<string, number>();
    for (const { term, idf } of terms) {
      const tools = found.get(term);
      if (!tools) continue;
      let total = 0;
      const counted = new Map<string, number>();
      for (const [tool, sessions] of tools) {
        const n = sessions - (this.minSessions - 1);
        if (n > 0) {
          counted.set(tool, n);
          total += n;
        }
      }
      for (const [tool, n] of counted) {
        const share = n / (total + this.smoothing);
        const sure = n / (n + this.confidence);
        out.set(tool, (out.get(tool) ?? 0) + (this.weight * share * sure * idf) / totalIdf);
        covered.set(tool, (covered.get(tool) ?? 0) + idf / totalIdf);
      }
    }
    for (const [tool, score] of out)
      out.set(tool, score * (covered.get(tool) ?? 0) ** this.coverage);
    return out;
  }

  /** Records a pair in the background; `flush()` waits for the records still on their way. */
  record(tenant: string, sessionId: string, terms: readonly string[], tool: string): Promise<void> {
    const done = this.store
      .record(tenant, sessionId, terms, tool)
      .catch(() => {})
      .finally(() => this.pending.delete(done));
    this.pending.add(done);
    return done;
  }

  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }
}
