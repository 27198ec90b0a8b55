import type { SessionStore, SessionStoreStats } from "../contracts/session-store.js";

/**
 * The session store's stats for the metrics: a scrape reads the last figures at once and, when
 * they are older than the interval, starts reading new ones in the background (a Redis store
 * walks every key of its prefix to count them, so not on every scrape).
 */
export class StoreStatsProbe {
  private last: SessionStoreStats | undefined;
  private readAt = 0;
  private reading: Promise<void> | undefined;

  constructor(
    private readonly store: () => SessionStore | undefined,
    private readonly intervalMs: number,
  ) {}

  /** The last figures (undefined before the first read); refreshes them when stale. */
  current(): SessionStoreStats | undefined {
    if (Date.now() - this.readAt >= this.intervalMs) void this.refresh();
    return this.last;
  }

  /** Reads the store's stats now (one read at a time); a failed read keeps the last figures. */
  refresh(): Promise<void> {
    const store = this.store();
    if (!store?.stats) return Promise.resolve();
    this.reading ??= store
      .stats()
      .then((stats) => {
        this.last = stats;
      })
      .catch(() => {})
      .finally(() => {
        this.readAt = Date.now();
        this.reading = undefined;
      });
    return this.reading;
  }
}
