/** A span with the analyzer's confidence in it. */
export interface ScoredSpan {
  start: number;
  end: number;
  score: number;
}

/**
 * The spans that do not overlap, in text order: where two overlap the one with the higher
 * score wins, then the longer, then the earlier. Presidio returns overlapping results (the
 * domain of an e-mail address is also a URL), in no particular order.
 */
export function resolveOverlaps<T extends ScoredSpan>(spans: readonly T[]): T[] {
  const ranked = [...spans].sort(
    (a, b) => b.score - a.score || b.end - b.start - (a.end - a.start) || a.start - b.start,
  );
  // Kept spans, disjoint and sorted by start: a binary search finds a newcomer's neighbours.
  const kept: T[] = [];
  for (const span of ranked) {
    if (span.end <= span.start) continue;
    let lo = 0;
    let hi = kept.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (kept[mid]!.start < span.start) lo = mid + 1;
      else hi = mid;
    }
    const before = kept[lo - 1];
    const after = kept[lo];
    if (before && before.end > span.start) continue;
    if (after && after.start < span.end) continue;
    kept.splice(lo, 0, span);
  }
  return kept;
}
