/**
 * The model-facing server for bench/soak.ts, in a process of its own: `stdio` or `http`
 * (prints its URL). On SIGUSR2 it collects garbage (run with --expose-gc) and prints its
 * memory as one JSON line on stderr, and writes a heap snapshot when SOAK_SNAPSHOTS names a
 * folder.
 */
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
