import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { ErrorCodes, MCPOptimizer } from "../src/index.js";

const dynamic = (extra = 0) => ({
  command: process.execPath,
  args: [fileURLToPath(new URL("./fixtures/dynamic-server.mjs", import.meta.url)), String(extra)],
});

describe("the catalog against a live server", () => {
  test("follows notifications/tools/list_changed: a tool added upstream is callable next", async () => {
    const optimizer = new MCPOptimizer({ mcpServers: { dyn: dynamic() } });
    try {
      await expect(optimizer.run("return await dyn.brand_new({})")).rejects.toMatchObject({
        code: ErrorCodes.TOOL_NOT_FOUND,
      });
      await optimizer.run("return await dyn.add_tool({ name: 'brand_new' })");
      let result: unknown;
      for (let i = 0; i < 50 && result === undefined; i++) {
        await new Promise((r) => setTimeout(r, 100));
        result = await optimizer.run("return await dyn.brand_new({})").then(
          (r) => r.value,
          () => undefined,
        );
      }
      expect(result).toBe("hello from brand_new");
      expect(optimizer.catalog.listTools().map((t) => t.name)).toContain("brand_new");
    } finally {
      await optimizer.close();
    }
  }, 60_000);

  test("isError results reach the guest as thrown errors with the server's message", async () => {
    const optimizer = new MCPOptimizer({ mcpServers: { dyn: dynamic() } });
    try {
      const caught = await optimizer.run(
        "try { await dyn.fail({ reason: 'no quota' }) } catch (e) { return [e.code, e.message] }",
      );
      expect(caught.value).toEqual([ErrorCodes.TOOL_ERROR, "dyn.fail failed: refused: no quota"]);
      await expect(optimizer.run("await dyn.fail({ reason: 'x' })")).rejects.toMatchObject({
        code: ErrorCodes.TOOL_ERROR,
      });
      // isError is a tool's answer, not a transport failure: read-only or not, it is not retried.
      const raw = await optimizer.run(
        "return await dyn.fail.raw({ reason: 'raw' }).catch((e) => e.code)",
      );
      expect(raw.value).toBe(ErrorCodes.TOOL_ERROR);
    } finally {
      await optimizer.close();
    }
  }, 60_000);

  test("the model-facing definitions do not grow with the number of tools", async () => {
    const small = new MCPOptimizer({ mcpServers: { dyn: dynamic(5) } });
    const large = new MCPOptimizer({ mcpServers: { dyn: dynamic(500) } });
    try {
      // start() waits for the upstreams' first start; metaToolDefinitions() alone does not.
      await Promise.all([small.start(), large.start()]);
      const a = await small.metaToolDefinitions();
      const b = await large.metaToolDefinitions();
      expect(large.catalog.toolCount).toBeGreaterThan(small.catalog.toolCount + 400);
      expect(Math.abs(b.tokens - a.tokens)).toBeLessThanOrEqual(2);
      const plain = await large.run("return 1");
      expect(plain.tokens.plainMcp).toBeGreaterThan(b.tokens * 50);
    } finally {
      await small.close();
      await large.close();
    }
  }, 60_000);
});
