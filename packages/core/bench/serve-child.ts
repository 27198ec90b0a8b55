/**
 * Child of bench/startup.ts: `serve` over stdio with the mcpServers given as JSON in argv[2].
 * BENCH_CORE_DIST: another build of core to compare with (a path to its dist/index.js).
 */
const { MCPOptimizer, serveOptimizerStdio } = (await import(
  process.env.BENCH_CORE_DIST ?? "../dist/index.js"
)) as typeof import("../dist/index.js");

const optimizer = new MCPOptimizer({
  sandboxConfig: { mode: "process", enableMetrics: false },
  mcpServers: JSON.parse(process.argv[2] ?? "{}"),
});
await serveOptimizerStdio(optimizer);
process.stdin.on("end", () => optimizer.close().then(() => process.exit(0)));
