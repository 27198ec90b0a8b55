// `pnpm --filter @mcp-optimizer/cli bench:plans`: the effect plan of every benchmark scenario's
// program, as `mcp-optimizer run --plan` prints it (the built bin, the scenario's own servers,
// approvals for destructive tools). docs/approvals-and-skills.md shows its output.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { scenarios } from "../dist/index.js";
import { packageBinCommand } from "../dist/runtime/resolve-package.js";

const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
let failed = 0;

for (const scenario of scenarios) {
  const workDir = mkdtempSync(join(tmpdir(), `mcpo-plans-${scenario.id}-`));
  const context = {
    workDir,
    quick: true,
    env: process.env,
    serverCommand: packageBinCommand,
    progress: () => {},
  };
  try {
    const reason = await scenario.unavailable?.(context);
    if (reason) {
      process.stdout.write(`## ${scenario.id}\n\nunavailable: ${reason}\n\n`);
      failed++;
      continue;
    }
    const prepared = await scenario.prepare(context);
    try {
      const config = join(workDir, "mcp-optimizer.config.json");
      writeFileSync(
        config,
        JSON.stringify({
          mcpServers: prepared.mcpServers,
          sandbox: { mode: "process" },
          approvals: { ask: "destructive" },
        }),
      );
      const program = join(workDir, "program.ts");
      writeFileSync(program, prepared.program);
      const r = spawnSync(process.execPath, [BIN, "run", program, "--plan", "--config", config], {
        encoding: "utf8",
        env: { ...process.env, MCPO_CONFIG: "" },
      });
      if (r.status !== 0) failed++;
      // Paths of the temporary fixtures say nothing: shown as <work>.
      const out = (r.status === 0 ? r.stdout : r.stderr).replaceAll(workDir, "<work>");
      process.stdout.write(`## ${scenario.id}\n\n\`\`\`\n${out.trimEnd()}\n\`\`\`\n\n`);
    } finally {
      await prepared.cleanup?.();
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}
process.exitCode = failed > 0 ? 1 : 0;
