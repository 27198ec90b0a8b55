import type { SessionRecord } from "@mcp-optimizer/core";

interface Entry {
  /** The record as JSON text: callers get their own copy from one parse (sessions are JSON). */
  text: string;
  expiresAtMs: number;
}

/**
 * Sessions read recently, least recently used first out. Only trusted while the
 * invalidation channel is subscribed; `generation` guards against a read that started before
 * an invalidation putting a stale copy back. Copies are kept as JSON text, as core's memory
 * store does: a stringify in and a parse out cost about half of two `structuredClone`s.
 */
export class SessionCache {
  private readonly records = new Map<string, Entry>();
  private gen = 0;

  constructor(private readonly maxEntries: number) {}

  get generation(): number {
    return this.gen;
  }

  get(id: string): SessionRecord | undefined {
    const entry = this.records.get(id);
    if (!entry) return undefined;
    this.records.delete(id);
    if (entry.expiresAtMs <= Date.now()) return undefined;
    this.records.set(id, entry);
    return JSON.parse(entry.text) as SessionRecord;
  }

  /** Keeps a copy, unless something was invalidated since `generation` was read. */
  put(record: SessionRecord, generation = this.gen): void {
    if (generation !== this.gen) return;
    this.records.delete(record.id);
    this.records.set(record.id, {
      text: JSON.stringify(record),
      expiresAtMs: Date.parse(record.expiresAt),
    });
    while (this.records.size > this.maxEntries) {
      this.records.delete(this.records.keys().next().value as string);
    }
  }

  drop(id: string): void {
    this.gen++;
    this.records.delete(id);
  }

  clear(): void {
    this.gen++;
    this.records.clear();
  }

  get size(): number {
    return this.records.size;
  }
}
