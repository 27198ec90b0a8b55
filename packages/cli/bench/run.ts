// `pnpm bench`: the full benchmark (every scenario, on the process, wasm and docker sandboxes
// where available): progress on stderr, the table on stdout, an HTML report in the temp
// directory. Extra arguments pass through: `pnpm bench -- --quick`, `pnpm bench -- --json`.
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../dist/index.js";

// pnpm hands on the "--" of `pnpm bench -- --quick`; the CLI would take what follows as arguments.
const extra = process.argv.slice(2).filter((a, i) => !(i === 0 && a === "--"));
const args = ["benchmark", ...extra];
if (!extra.includes("--sandbox")) args.push("--sandbox", "process,wasm,docker");
if (!extra.includes("--report"))
  args.push("--report", join(tmpdir(), "mcp-optimizer-benchmark.html"));
process.exitCode = await main(args);
