import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BenchmarkScenario } from "../scenario.js";
import { assert } from "./fixtures.js";

/**
 * Scenario 6: data-heavy work, the kind the brief's 99.6% target is about. A folder of service
 * logs is read in full to find the few error lines; the model needs only the summary.
 */
export const scanLogs: BenchmarkScenario = {
  id: "scan-logs",
  title: "Scan 1,000 log files for errors",
  description:
    "server-filesystem: read every log of a folder (read_multiple_files) and summarise the few ERROR lines. Over plain MCP every line of every file enters the context.",
  small: true,
  async prepare(context) {
    const count = context.quick ? 100 : 1000;
    const dir = join(context.workDir, "logs");
    mkdirSync(dir);
    const names: string[] = [];
    const expected: Record<string, number> = {};
    for (let i = 0; i < count; i++) {
      const lines: string[] = [];
      for (let j = 0; j < 40; j++) {
        const time = `2026-11-24T10:${String(j).padStart(2, "0")}:00Z`;
        if (i % 97 === 3 && j % 13 === 5) {
          lines.push(`${time} ERROR payment-service: timeout calling ledger (request ${i}-${j})`);
          expected[String(i)] = (expected[String(i)] ?? 0) + 1;
        } else {
          lines.push(`${time} INFO request ${i}-${j} served in ${(i * j) % 250} ms`);
        }
      }
      const name = `service-${String(i).padStart(4, "0")}.log`;
      writeFileSync(join(dir, name), `${lines.join("\n")}\n`);
      names.push(join(dir, name));
    }
    const fs = context.serverCommand("@modelcontextprotocol/server-filesystem");
    return {
      mcpServers: { files: { ...fs, args: [...fs.args, context.workDir] } },
      program: `const listing = await files.list_directory({ path: ${JSON.stringify(dir)} });
const paths = listing.content.split("\\n")
  .filter((line) => line.startsWith("[FILE] "))
  .map((line) => ${JSON.stringify(`${dir}/`)} + line.slice(7));
const contents = await files.read_multiple_files({ paths });
const errors = contents.content.split("\\n").filter((line) => line.includes(" ERROR "));
const byRequest = {};
for (const line of errors) {
  const request = line.match(/request (\\d+)-/)[1];
  byRequest[request] = (byRequest[request] ?? 0) + 1;
}
return { filesScanned: paths.length, errorLines: errors.length, byRequest, sample: errors[0] };`,
      async plain(client) {
        await client.call("files", "list_directory", { path: dir });
        await client.call("files", "read_multiple_files", { paths: names });
      },
      verify(value) {
        const result = value as {
          filesScanned?: number;
          errorLines?: number;
          byRequest?: Record<string, number>;
        };
        assert(
          result?.filesScanned === count,
          `expected ${count} files scanned, got ${JSON.stringify(value)}`,
        );
        const total = Object.values(expected).reduce((a, b) => a + b, 0);
        assert(
          result.errorLines === total,
          `expected ${total} error lines, got ${result.errorLines}`,
        );
        assert(
          JSON.stringify(result.byRequest) === JSON.stringify(expected),
          `error lines per file differ: ${JSON.stringify(result.byRequest)}`,
        );
      },
    };
  },
};
