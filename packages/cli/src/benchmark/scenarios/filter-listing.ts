import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BenchmarkScenario } from "../scenario.js";
import { assert, seeded } from "./fixtures.js";

/** Scenario 2: a directory of thousands of files filtered to the few large ones. */
export const filterListing: BenchmarkScenario = {
  id: "filter-listing",
  title: "Filter 3,000 files to a handful",
  description:
    "server-filesystem: list_directory_with_sizes over 3,000 files and keep the few over 10 KB. Over plain MCP the whole listing enters the context.",
  small: true,
  async prepare(context) {
    const count = context.quick ? 300 : 3000;
    const dir = join(context.workDir, "exports");
    mkdirSync(dir);
    const rnd = seeded(42);
    const large: string[] = [];
    for (let i = 0; i < count; i++) {
      const name = `export-${String(i).padStart(5, "0")}-${Math.floor(rnd() * 1e6).toString(36)}.csv`;
      const big = i % 601 === 17;
      if (big) large.push(name);
      writeFileSync(join(dir, name), "x".repeat(big ? 12_000 + i : 100 + (i % 900)));
    }
    const fs = context.serverCommand("@modelcontextprotocol/server-filesystem");
    return {
      mcpServers: { files: { ...fs, args: [...fs.args, context.workDir] } },
      program: `const listing = await files.list_directory_with_sizes({ path: ${JSON.stringify(dir)}, sortBy: "name" });
const toBytes = (n, unit) => Number(n) * ({ B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 })[unit];
return listing.content.split("\\n")
  .map((line) => line.match(/^\\[FILE\\] (\\S+)\\s+([\\d.]+) (B|KB|MB|GB)$/))
  .filter((m) => m && toBytes(m[2], m[3]) > 10 * 1024)
  .map((m) => m[1]);`,
      async plain(client) {
        await client.call("files", "list_directory_with_sizes", { path: dir, sortBy: "name" });
      },
      verify(value) {
        assert(Array.isArray(value), "the program did not return a list");
        assert(
          JSON.stringify([...(value as string[])].sort()) === JSON.stringify([...large].sort()),
          `expected ${large.length} large files, got ${JSON.stringify(value)}`,
        );
      },
    };
  },
};
