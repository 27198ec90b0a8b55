/**
 * Child of bench/startup.ts: a fresh process that creates the optimizer with the servers given
 * as JSON in argv[2] and runs one program (argv[3]); prints milliseconds since process start.
 */
// BENCH_CORE_DIST: another build of core to compare with (a path to its dist/index.js).
const { MCPOptimizer } = (await import(
  process.env.BENCH_CORE_DIST ?? "../dist/index.js"
)) as typeof import("../dist/index.js");

const sinceStart = () => Math.round(performance.now());
const loaded = sinceStart();
const optimizer = new MCPOptimizer({
  sandboxConfig: { mode: "process", enableMetrics: false },
  mcpServers: JSON.parse(process.argv[2] ?? "{}"),
});
await optimizer.run(process.argv[3] ?? "return 1+1");
const firstRun = sinceStart();
await optimizer.start(); // every server's first start
const allConnected = sinceStart();
process.stdout.write(`${JSON.stringify({ loaded, firstRun, allConnected })}\n`);
await optimizer.close();
