#!/usr/bin/env node
// The Node.js check comes before anything else loads: an old Node gets one sentence naming the
// minimum and exit code 4 ("unavailable"), not a stack trace from whatever breaks first.
import { nodeVersionProblem } from "@mcp-optimizer/core/node-version";

const tooOld = nodeVersionProblem();
if (tooOld) {
  process.stderr.write(`mcp-optimizer: ${tooOld}\n`);
  process.exit(4);
}
// A reader that stopped reading (`| head`) ends the command quietly, as other Unix tools do.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});
const { main } = await import("./main.js");
const code = await main(process.argv.slice(2));
process.exitCode = code;
// Upstream children and sockets are closed by now; leave anyway so a stray handle cannot hang the shell.
setTimeout(() => process.exit(code), 2000).unref();
