/**
 * The model-facing server for bench/soak.ts, in a process of its own: `stdio` or `http`
 * (prints its URL). On SIGUSR2 it collects garbage (run with --expose-gc) and prints its
 * memory as one JSON line on stderr, and writes a heap snapshot when SOAK_SNAPSHOTS names a
 * folder.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { getHeapSpaceStatistics, setFlagsFromString, writeHeapSnapshot } from "node:v8";
import { createOptimizerHttpServer, MCPOptimizer, serveOptimizerStdio } from "../dist/index.js";

const mode = process.argv[2] ?? "stdio";
if (process.env.SOAK_SET_FLAGS) setFlagsFromString(process.env.SOAK_SET_FLAGS);
const optimizer = new MCPOptimizer({ sandboxConfig: { mode: "process", enableMetrics: false } });
let snapshots = 0;
process.on("SIGUSR2", () => {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  let snapshot: string | undefined;
  if (process.env.SOAK_SNAPSHOTS)
    snapshot = writeHeapSnapshot(
      join(process.env.SOAK_SNAPSHOTS, `soak-${++snapshots}.heapsnapshot`),
    );
  if (process.env.SOAK_SPACES)
    process.stderr.write(
      `spaces ${getHeapSpaceStatistics()
        .map(
          (s) =>
            `${s.space_name}=${(s.space_used_size / 1048576).toFixed(1)}/${(s.space_size / 1048576).toFixed(1)}`,
        )
        .join(" ")}\n`,
    );
  if (process.env.SOAK_SMAPS)
    process.stderr.write(`smaps ${JSON.stringify(residentByMapping())}\n`);
  if (process.env.SOAK_SMAPS_DETAIL)
    process.stderr.write(`smaps ${JSON.stringify(anonymousBySize())}\n`);
  process.stderr.write(
    `${JSON.stringify({ memory: { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external }, snapshot })}\n`,
  );
});
if (mode === "http") {
  const server = await createOptimizerHttpServer(optimizer, { port: 0 });
  process.stdout.write(`${server.url}\n`);
} else {
  await serveOptimizerStdio(optimizer);
  process.stdin.on("end", () => optimizer.close().then(() => process.exit(0)));
}

/** Resident MB by kind of mapping (Linux): the malloc heap, anonymous mappings (V8, malloc arenas), files. */
function residentByMapping(): Record<string, number> {
  const totals: Record<string, number> = {};
  let kind = "";
  for (const line of readFileSync("/proc/self/smaps", "utf8").split("\n")) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const name = head[1]!.trim();
      kind = name === "" ? "anonymous" : name.startsWith("[") ? name : "file";
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) totals[kind] = (totals[kind] ?? 0) + Number(rss[1]) / 1024;
  }
  for (const k of Object.keys(totals)) totals[k] = Math.round(totals[k]!);
  return totals;
}

/** Anonymous mappings by size (KB): their count and resident MB, to tell V8 pages from stacks or arenas. */
function anonymousBySize(): Record<string, [number, number]> {
  const out: Record<string, [number, number]> = {};
  let size = 0;
  let anonymous = false;
  for (const line of readFileSync("/proc/self/smaps", "utf8").split("\n")) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      anonymous = head[3]!.trim() === "";
      size = (Number.parseInt(head[2]!, 16) - Number.parseInt(head[1]!, 16)) / 1024;
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && anonymous) {
      const key = size < 1024 ? `${size}K` : `${Math.round(size / 1024)}M`;
      const e = out[key] ?? [0, 0];
      out[key] = e;
      e[0]++;
      e[1] = Math.round((e[1] + Number(rss[1]) / 1024) * 10) / 10;
    }
  }
  return out;
}
