import { MCPOptimizer, MemorySessionStore } from "@mcp-optimizer/core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startTelemetry, type TelemetryHandle } from "../src/index.js";
import { parsePrometheus, total } from "./helpers.js";

// The session store's size and evictions as Prometheus sees them: a memory store bounded to
// two sessions, so the third evicts one (capacity), and a context key (entries of kind "ctx").
describe("stored bytes, items and evictions of the session store", () => {
  let handle: TelemetryHandle;
  let optimizer: MCPOptimizer;
  const sessions = new MemorySessionStore({ maxSessions: 2 });

  beforeAll(async () => {
    handle = await startTelemetry({
      prometheus: { host: "127.0.0.1", port: 0 },
      traces: false,
      logs: false,
    });
    optimizer = new MCPOptimizer({
      sandboxConfig: { mode: "process" },
      sessions,
      storeStatsIntervalMs: 0,
    });
    await optimizer.start();
  }, 60_000);

  afterAll(async () => {
    await optimizer?.close();
    await sessions.close();
    await handle?.shutdown();
  });

  /** Two scrapes: the first starts a fresh read of the store's stats, the second shows it. */
  const scrape = async () => {
    await handle.prometheus!.scrape();
    await new Promise((r) => setTimeout(r, 50));
    return parsePrometheus(await handle.prometheus!.scrape());
  };

  test("reports sessions and context entries held, their bytes, and LRU evictions", async () => {
    for (const id of ["s-1", "s-2", "s-3"])
      await optimizer.run("state.blob = 'x'.repeat(2000); return 1", { sessionId: id });
    await (await optimizer.context({ principal: "alice" })).set("prefs", { theme: "dark" });
    const samples = await scrape();
    const sessionsAt = {
      mcp_optimizer_session_store_kind: "memory",
      mcp_optimizer_store_what: "sessions",
    };
    expect(total(samples, "mcp_optimizer_store_items", sessionsAt)).toBe(2);
    expect(total(samples, "mcp_optimizer_store_size_bytes", sessionsAt)).toBeGreaterThan(4000);
    const ctx = { mcp_optimizer_store_what: "entries", mcp_optimizer_store_scope: "ctx" };
    expect(total(samples, "mcp_optimizer_store_items", ctx)).toBe(1);
    expect(total(samples, "mcp_optimizer_store_size_bytes", ctx)).toBe(
      JSON.stringify({ theme: "dark" }).length,
    );
    expect(
      total(samples, "mcp_optimizer_store_evictions_total", {
        mcp_optimizer_store_eviction_reason: "capacity",
      }),
    ).toBe(1);
  });
});
