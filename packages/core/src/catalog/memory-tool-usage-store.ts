import type { ToolUsageStore } from "../contracts/tool-usage-store.js";

export interface MemoryToolUsageStoreOptions {
  /** Tools kept per (tenant, term); the least used go first. Default 20. */
  maxToolsPerTerm?: number;
  /** (session, term, tool) triples remembered for "counted once"; the oldest go first. Default 100000. */
  maxSeen?: number;
}

/** The ToolUsageStore of one process. */
export class MemoryToolUsageStore implements ToolUsageStore {
  readonly kind = "memory";
  private readonly counts = new Map<string, Map<string, number>>(); // tenant\0term -> tool -> sessions
  private readonly seen = new Set<string>();
  private readonly maxToolsPerTerm: number;
  private readonly maxSeen: number;

  constructor(options: MemoryToolUsageStoreOptions = {}) {
    this.maxToolsPerTerm = Math.max(1, options.maxToolsPerTerm ?? 20);
    this.maxSeen = Math.max(1, options.maxSeen ?? 100_000);
  }

  async record(
    tenant: string,
    sessionId: string,
    terms: readonly string[],
    tool: string,
  ): Promise<void> {
    for (const term of new Set(terms)) {
      const seenKey = `${tenant}\u0000${sessionId}\u0000${term}\u0000${tool}`;
      if (this.seen.has(seenKey)) continue;
      this.seen.add(seenKey);
      if (this.seen.size > this.maxSeen)
        this.seen.delete(this.seen.values().next().value as string);
      const key = `${tenant}\u0000${term}`;
      const tools = this.counts.get(key) ?? new Map<string, number>();
      this.counts.set(key, tools);
      tools.set(tool, (tools.get(tool) ?? 0) + 1);
      if (tools.size > this.maxToolsPerTerm) {
        let least: string | undefined;
        for (const [t, c] of tools)
          if (t !== tool && (least === undefined || c < tools.get(least)!)) least = t;
        if (least !== undefined) tools.delete(least);
      }
    }
  }

  async lookup(
    tenant: string,
    terms: readonly string[],
  ): Promise<Map<string, Map<string, number>>> {
    const out = new Map<string, Map<string, number>>();
    for (const term of new Set(terms)) {
      const tools = this.counts.get(`${tenant}\u0000${term}`);
      if (tools?.size) out.set(term, new Map(tools));
    }
    return out;
  }

  async close(): Promise<void> {
    this.counts.clear();
    this.seen.clear();
  }
}

export function createMemoryToolUsageStore(
  options: MemoryToolUsageStoreOptions = {},
): MemoryToolUsageStore {
  return new MemoryToolUsageStore(options);
}
