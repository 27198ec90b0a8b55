// The effect plan of every benchmark scenario's program, printed by `run --plan` (the real
// CLI), checked against what the program then really calls when run: every tool it called is
// in the plan, no tool is called more often than the plan says (outside loops), nothing is
// missing or unknown.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { scenarios } from "../src/benchmark/scenarios/index.js";
import { packageBinCommand } from "../src/runtime/resolve-package.js";
import { cli, tempDir } from "./helpers.js";

interface PlanJson {
  tools: { name: string; calls: number; repeated: boolean; needsApproval: boolean }[];
  unknown: unknown[];
  missing: string[];
  summary: string;
  approval: { required: boolean; tools: string[] };
}

describe("run --plan on every benchmark scenario", () => {
  for (const scenario of scenarios) {
    test(`${scenario.id}: the plan names every tool the program calls`, async () => {
      const workDir = tempDir(`mcpo-plan-${scenario.id}-`);
      const context = {
        workDir,
        quick: true,
        env: process.env,
        serverCommand: packageBinCommand,
        progress: () => {},
      };
      // Every scenario's server is a dependency of the CLI: unavailable here is a failure.
      expect(await scenario.unavailable?.(context)).toBeUndefined();
      const prepared = await scenario.prepare(context);
      try {
        const config = join(workDir, "mcp-optimizer.config.json");
        writeFileSync(
          config,
          JSON.stringify({
            mcpServers: prepared.mcpServers,
            sandbox: { mode: "process", maxExecutionTime: 60_000 },
            approvals: { ask: "destructive" },
          }),
        );
        const program = join(workDir, "program.ts");
        // A scenario that saves skills in `setup` (the CLI here has no shared store to save
        // them in) is planned by the program its skill runs: the one written before skills.
        writeFileSync(program, prepared.setup ? (prepared.programBefore ?? "") : prepared.program);

        const printed = await cli(["run", program, "--plan", "--config", config], {
          timeoutMs: 120_000,
        });
        expect(printed.code, printed.stderr).toBe(0);
        const asJson = await cli(["run", program, "--plan", "--json", "--config", config], {
          timeoutMs: 120_000,
        });
        const plan = JSON.parse(asJson.stdout) as PlanJson;
        expect(printed.stdout).toContain(plan.summary);
        expect(plan.missing).toEqual([]);
        expect(plan.unknown).toEqual([]);

        // What the program really calls: run it (approving what the plan asks about).
        const ran = await cli(["run", program, "--json", "--approve", "--config", config], {
          timeoutMs: 180_000,
        });
        expect(ran.code, ran.stderr).toBe(0);
        const result = JSON.parse(ran.stdout) as {
          toolCalls: { server: string; tool: string }[];
        };
        const called = new Map<string, number>();
        for (const c of result.toolCalls) {
          const name = `${c.server}.${c.tool}`;
          called.set(name, (called.get(name) ?? 0) + 1);
        }
        expect(called.size).toBeGreaterThan(0);
        const planned = new Map(plan.tools.map((t) => [t.name, t]));
        for (const [name, count] of called) {
          const t = planned.get(name);
          expect(t, `${name} was called but is not in the plan`).toBeDefined();
          if (!t!.repeated) expect(count).toBeLessThanOrEqual(t!.calls);
        }
        // ... and the plan names nothing the program does not call.
        expect([...planned.keys()].sort()).toEqual([...called.keys()].sort());
        // The approval asked for exactly the destructive tools it reaches.
        expect(plan.approval.tools).toEqual(
          plan.tools.filter((t) => t.needsApproval).map((t) => t.name),
        );
        expect(ran.stderr.includes("approved (--approve)")).toBe(plan.approval.required);
      } finally {
        await prepared.cleanup?.();
      }
    }, 300_000);
  }
});
