import { createHybridSandbox, createProcessSandbox, MCPOptimizer } from "@mcp-optimizer/core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startTelemetry, type TelemetryHandle } from "../src/index.js";
import { parsePrometheus, total } from "./helpers.js";

describe("the pool gauge through a hybrid sandbox", () => {
  let handle: TelemetryHandle;
  let optimizer: MCPOptimizer;
  const processSandbox = createProcessSandbox({ poolSize: 2 });

  beforeAll(async () => {
    handle = await startTelemetry({
      prometheus: { host: "127.0.0.1", port: 0 },
      traces: false,
      logs: false,
    });
    optimizer = new MCPOptimizer({
      sandbox: createHybridSandbox({
        sandboxes: { process: processSandbox },
        defaultModes: ["process"],
      }),
    });
    await optimizer.start();
  }, 60_000);

  afterAll(async () => {
    await optimizer?.close();
    await handle?.shutdown();
  });

  const runners = async (state: string) =>
    total(parsePrometheus(await handle.prometheus!.scrape()), "mcp_optimizer_sandbox_runners", {
      mcp_optimizer_sandbox_mode: "process",
      mcp_optimizer_sandbox_runner_state: state,
    });

  test("reports the composed process sandbox's runners: active per session, idle from its warm pool", async () => {
    await optimizer.run("return 1", { sessionId: "pool-1" });
    await optimizer.run("return 2", { sessionId: "pool-2" });
    await optimizer.run("return 3", { sessionId: "pool-3" });
    expect(await runners("active")).toBe(3);
    await processSandbox.warm();
    expect(await runners("idle")).toBe(2);
    await optimizer.deleteSession("pool-2");
    expect(await runners("active")).toBe(2);
  });
});
