import type { SessionRecord } from "@mcp-optimizer/core";

/**
 * Sessions read recently, least recently used first out. Only trusted while the
 * invalidation channel is subscribed; `generation` guards against a read that started before
 * an invalidation putting a stale copy back.
 */
export class SessionCache {
  private readonly records = new Map<string, SessionRecord>();
  private gen = 0;

  constructor(private readonly maxEntries: number) {}

  get generation(): number {
    return this.gen;
  }

  get(id: string): SessionRecord | undefined {
    const record = this.records.get(id);
    if (!record) return undefined;
    if (Date.parse(record.expiresAt) <= Date.now()) {
      this.records.delete(id);
      return undefined;
    }
    this.records.delete(id);
    this.records.set(id, record);
    return structuredClone(record);
  }

  /** Keeps a copy, unless something was invalidated since `generation` was read. */
  put(record: SessionRecord, generation = this.gen): void {
    if (generation !== this.gen) return;
    this.records.delete(record.id);
    this.records.set(record.id, structuredClone(record));
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
