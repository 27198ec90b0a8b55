/**
 * Which searches a call followed: each session's searches since its last recorded call (an
 * episode: "what's new in the team room" found nothing, "channel history" found the tool),
 * kept briefly in memory. When a call's tool was among the hits of one of them, the words of
 * every search of the episode are recorded as having led to it, and the episode ends.
 */
export interface RecentSearch {
  terms: string[];
  hits: Set<string>;
  at: number;
}

export interface SearchFeedbackOptions {
  /** Searches remembered per session. Default 5. */
  perSession?: number;
  /** Sessions remembered at most; the least recent go first. Default 10000. */
  maxSessions?: number;
  /** How long after a search a call still counts as its outcome, in ms. Default 600000. */
  windowMs?: number;
}

export class SearchFeedback {
  private readonly recent = new Map<string, RecentSearch[]>();
  private readonly perSession: number;
  private readonly maxSessions: number;
  private readonly windowMs: number;

  constructor(options: SearchFeedbackOptions = {}) {
    this.perSession = options.perSession ?? 5;
    this.maxSessions = options.maxSessions ?? 10_000;
    this.windowMs = options.windowMs ?? 600_000;
  }

  noteSearch(tenant: string, sessionId: string, terms: string[], hits: string[]): void {
    if (terms.length === 0 || hits.length === 0) return;
    const key = `${tenant}\u0000${sessionId}`;
    const list = this.recent.get(key) ?? [];
    this.recent.delete(key);
    list.push({ terms, hits: new Set(hits), at: Date.now() });
    this.recent.set(key, list.slice(-this.perSession));
    while (this.recent.size > this.maxSessions)
      this.recent.delete(this.recent.keys().next().value as string);
  }

  /**
   * The terms of this session's recent searches when one of them listed `tool` (each
   * search's terms once), ending the episode; undefined when none listed it.
   */
  searchesFor(tenant: string, sessionId: string, tool: string): string[][] | undefined {
    const key = `${tenant}\u0000${sessionId}`;
    const now = Date.now();
    const list = (this.recent.get(key) ?? []).filter((s) => now - s.at <= this.windowMs);
    if (!list.some((s) => s.hits.has(tool))) return undefined;
    this.recent.delete(key);
    return list.map((s) => s.terms);
  }
}
