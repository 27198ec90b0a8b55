import type { ToolCatalog } from "../catalog/tool-catalog.js";
import type { CallMemo } from "./call-memo.js";

/**
 * The memo an optimizer's executions use, attached beside the engine: `MCPOptimizer` builds
 * each execution's host with its catalog, and the host looks its memo up here. A separate hook
 * so the engine's own options can take it over without changing how memo behaves.
 */
const memos = new WeakMap<ToolCatalog, CallMemo>();

/**
 * Turns memoised read-only calls on for an optimizer: `useCallMemo(optimizer,
 * createCallMemo({ cache, servers: memoSettings(mcpServers) }))`. The CLI does it from the
 * config's `memo` settings. Pass `undefined` to turn it off.
 */
export function useCallMemo(
  optimizer: { readonly catalog: ToolCatalog },
  memo: CallMemo | undefined,
): void {
  if (memo) memos.set(optimizer.catalog, memo);
  else memos.delete(optimizer.catalog);
}

/** The memo attached to the optimizer that owns this catalog, if any. */
export function callMemoFor(catalog: ToolCatalog): CallMemo | undefined {
  return memos.get(catalog);
}
