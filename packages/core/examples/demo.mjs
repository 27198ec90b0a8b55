// The quick-start demo: code mode in front of real MCP servers on the embedded defaults
// (process sandbox, in-memory sessions; no Docker, no Redis). Run from the repo root with
// `pnpm demo`.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { nodeVersionProblem } from "../dist/runtime/node-version.js";

// Checked before anything else loads: an old Node gets one sentence and exit code 4
// ("unavailable", as the CLI uses it), not a stack trace from a sandbox that cannot start.
const tooOld = nodeVersionProblem();
if (tooOld) {
  console.error(`demo: ${tooOld}`);
  process.exit(4);
}
const { MCPOptimizer, isOptimizerError } = await import("../dist/index.js");

const require = createRequire(import.meta.url);
const serverBin = (pkg) =>
  join(dirname(require.resolve(`${pkg}/package.json`)), "dist", "index.js");

// A workspace a real agent might face: 1,500 log files, a few of them with errors.
const workspace = mkdtempSync(join(tmpdir(), "mcp-optimizer-demo-"));
const logs = join(workspace, "logs");
mkdirSync(logs);
for (let i = 0; i < 1500; i++) {
  const lines = Array.from({ length: 40 }, (_, j) =>
    i % 97 === 3 && j % 13 === 5
      ? `2026-11-24T10:${String(j).padStart(2, "0")}:00Z ERROR payment-service: timeout calling ledger (request ${i}-${j})`
      : `2026-11-24T10:${String(j).padStart(2, "0")}:00Z INFO request ${i}-${j} served in ${(i * j) % 250} ms`,
  );
  writeFileSync(join(logs, `service-${String(i).padStart(4, "0")}.log`), `${lines.join("\n")}\n`);
}

const program = `// Which services logged errors? Read only the logs that matter, remember the answer.
const listing = await files.list_directory({ path: ${JSON.stringify(logs)} });
const names = String(listing.content ?? listing)
  .split("\\n")
  .filter((line) => line.startsWith("[FILE]"))
  .map((line) => line.slice(7));
const contents = await files.read_multiple_files({ paths: names.map((n) => ${JSON.stringify(logs)} + "/" + n) });
const errors = String(contents.content ?? contents)
  .split("\\n")
  .filter((line) => line.includes(" ERROR "));
const byFile = {};
for (const line of errors) {
  const request = line.match(/request (\\d+)-/)[1];
  byFile[request] = (byFile[request] ?? 0) + 1;
}
await memory.create_entities({
  entities: [{ name: "payment-service", entityType: "incident", observations: [errors.length + " ledger timeouts"] }],
});
return { filesScanned: names.length, errorLines: errors.length, filesWithErrors: Object.keys(byFile).length, sample: errors[0] };`;

const optimizer = new MCPOptimizer({
  sandboxConfig: { mode: "process", maxExecutionTime: 60_000 },
  mcpServers: {
    files: {
      command: process.execPath,
      args: [serverBin("@modelcontextprotocol/server-filesystem"), workspace],
    },
    memory: {
      command: process.execPath,
      args: [serverBin("@modelcontextprotocol/server-memory")],
      env: { MEMORY_FILE_PATH: join(workspace, "memory.jsonl") },
    },
    everything: {
      command: process.execPath,
      args: [serverBin("@modelcontextprotocol/server-everything"), "stdio"],
    },
  },
});

const bold = (s) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
try {
  const started = performance.now();
  await optimizer.start();
  const caps = await optimizer.capabilities();
  console.log(bold("MCP Optimizer demo: code mode on the embedded defaults"));
  console.log(
    `sandbox: ${caps.sandbox.mode} (${caps.sandbox.details.engine}), sessions: ${caps.sessions.kind}, tokenizer: ${caps.tokenizer}`,
  );
  for (const u of caps.upstreams) {
    console.log(
      `upstream ${u.name}: ${u.tools} tools over ${u.transport} (${u.toolDefinitionTokens} tokens of definitions)`,
    );
  }
  console.log(`started in ${Math.round(performance.now() - started)} ms\n`);
  console.log(bold("The program the model writes (one execute_code call):"));
  console.log(program.replace(/^/gm, "  "));
  const result = await optimizer.run(program, { sessionId: "demo" });
  console.log(`\n${bold("What the model sees:")}`);
  console.log(result.text.replace(/^/gm, "  "));
  const pct = (100 * (1 - result.tokens.used / result.tokens.plainMcp)).toFixed(1);
  console.log(`\n${bold("Tokens")} (${result.tokens.tokenizer}, counted once)`);
  console.log(
    `  code mode : ${result.tokens.used.toLocaleString("en-US").padStart(10)}  (meta-tools + program + result)`,
  );
  console.log(
    `  plain MCP : ${result.tokens.plainMcp.toLocaleString("en-US").padStart(10)}  (${caps.tools} tool definitions + ${result.toolCalls.length} calls and their results)`,
  );
  console.log(
    `  reduction : ${pct.padStart(9)}%   (~$${result.cost.usedUsd.toFixed(4)} vs ~$${result.cost.plainMcpUsd.toFixed(4)} at ${result.cost.model} input prices)`,
  );
  const t = result.tokens;
  const fmt = (n) => n.toLocaleString("en-US");
  console.log(
    `  as billed : ${fmt(t.cumulative.used)} vs ${fmt(t.cumulative.plainMcp)} over ${t.roundTrips.used} vs ${t.roundTrips.plainMcp} round trips; with a prompt cache at ${t.cumulativeCached.cachedInputRate}: ${fmt(t.cumulativeCached.used)} vs ${fmt(t.cumulativeCached.plainMcp)}`,
  );
  console.log(
    `\nexecution: ${result.durationMs} ms in the ${result.mode} sandbox, ${result.toolCalls.length} tool calls`,
  );
  if (process.env.MCPO_DEMO_VERBOSE) console.log(result.toolCalls);
} catch (error) {
  // What can go wrong here has a code and a message saying what to do; print that.
  if (!isOptimizerError(error)) throw error;
  console.error(`demo: ${error.message} [${error.code}]`);
  process.exitCode = error.code === "SANDBOX_UNAVAILABLE" ? 4 : 1;
} finally {
  await optimizer.close();
  rmSync(workspace, { recursive: true, force: true });
}
