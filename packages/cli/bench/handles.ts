// `pnpm --filter @mcp-optimizer/cli bench:handles`: what the model reads when a program returns
// more than its token budget, cut (as before result handles) against a handle's description
// (docs/privacy.md), on the data of the CLI's benchmark scenarios. For each scenario the
// largest tool result of its plain-MCP path is returned as is by a naive program
// (`return await mcp.call(server, tool, args)`), under both settings, on the process sandbox.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createO200kTokenizer,
  type JsonObject,
  MCPOptimizer,
  type ToolCallResult,
} from "@mcp-optimizer/core";
import { RecordingPlainClient } from "../dist/benchmark/plain-client.js";
import { resultText } from "../dist/benchmark/scenarios/fixtures.js";
import { scenarios } from "../dist/index.js";
import { packageBinCommand } from "../dist/runtime/resolve-package.js";

const QUICK = process.env.BENCH_QUICK === "1" || process.argv.includes("--quick");
const BUDGET = 8000;
const tokenizer = await createO200kTokenizer();
const rows: string[] = [];

for (const scenario of scenarios) {
  const workDir = mkdtempSync(join(tmpdir(), `mcpo-handles-${scenario.id}-`));
  const context = {
    workDir,
    quick: QUICK,
    env: process.env,
    serverCommand: (pkg: string, bin?: string) => packageBinCommand(pkg, bin),
    progress: (m: string) => process.stderr.write(`${scenario.id}: ${m}\n`),
  };
  try {
    const why = await scenario.unavailable?.(context);
    if (why) {
      rows.push(`| ${scenario.id} | – | – | – | left out: ${why} |`);
      continue;
    }
    const prepared = await scenario.prepare(context);
    const make = (resultHandles: false | object) =>
      new MCPOptimizer({
        sandboxConfig: { mode: "process", maxExecutionTime: 120_000 },
        mcpServers: prepared.mcpServers,
        maxOutputBytes: 32 * 1024 * 1024,
        resultHandles,
      });
    const cut = make(false);
    const handles = make({});
    try {
      await Promise.all([cut.start(), handles.start()]);
      // The largest result the plain path reads: what a naive program would hand back.
      let largest: { server: string; tool: string; args: JsonObject; size: number } | undefined;
      const upstreams = new Map(cut.listUpstreams().map((u) => [u.name, u]));
      const client = new RecordingPlainClient(upstreams, tokenizer);
      const turn = client.turn.bind(client);
      client.turn = async (calls) => {
        const results: ToolCallResult[] = await turn(calls);
        calls.forEach((c, i) => {
          const size = resultText(results[i]!).length;
          if (!largest || size > largest.size) largest = { ...c, size };
        });
        return results;
      };
      await prepared.plain(client);
      if (!largest) continue;
      const program = `return await mcp.call(${JSON.stringify(largest.server)}, ${JSON.stringify(largest.tool)}, ${JSON.stringify(largest.args)});`;
      const before = await cut.run(program, { sessionId: "bench" });
      const after = await handles.run(program, { sessionId: "bench" });
      const full = await tokenizer.countAsync!(JSON.stringify(before.value));
      const shown = (text: string) => tokenizer.count(text);
      rows.push(
        `| ${scenario.id} | ${largest.server}.${largest.tool} | ${full.toLocaleString("en-US")} | ${before.truncated ? `${shown(before.text).toLocaleString("en-US")} (first part, then a notice)` : `${shown(before.text).toLocaleString("en-US")} (fits)`} | ${after.handle ? `${shown(after.text).toLocaleString("en-US")}: ${after.text.split("\n")[0]!.match(/handle h_\w+: (.+?), [\d.]+ (?:KiB|bytes)/)?.[1] ?? ""}, shape, stats, sample` : "fits the budget: no handle"} |`,
      );
      await prepared.cleanup?.();
    } finally {
      await Promise.all([cut.close(), handles.close()]);
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}
tokenizer.close?.();
console.log(
  `\nA naive program returning each scenario's largest tool result, budget ${BUDGET} tokens (o200k)${QUICK ? ", quick fixtures" : ""}:\n`,
);
console.log(
  "| scenario | tool result returned | its tokens | cut (before): tokens the model reads | handle: tokens the model reads |",
);
console.log("|---|---|---:|---|---|");
for (const r of rows) console.log(r);
