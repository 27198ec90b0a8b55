/**
 * What programs actually called after a search, per tenant: the pairs (search term, tool)
 * learned-from-use ranking is built on. A pair counts each session at most once, so one
 * session cannot outvote the others however often it repeats itself.
 * Implementations: MemoryToolUsageStore (core), RedisToolUsageStore
 * (@mcp-optimizer/sessions-redis, shared by replicas).
 */
export interface ToolUsageStore {
  /** Stable name for metrics and capability reports, e.g. "memory". */
  readonly kind: string;
  /**
   * Records that `sessionId` called `tool` ("server.tool") after searching with `terms`
   * (search stems). A (session, term, tool) already recorded is not counted again.
   */
  record(tenant: string, sessionId: string, terms: readonly string[], tool: string): Promise<void>;
  /** For each term: the tools called after searches with it, by the number of sessions that did. */
  lookup(tenant: string, terms: readonly string[]): Promise<Map<string, Map<string, number>>>;
  close(): Promise<void>;
}
