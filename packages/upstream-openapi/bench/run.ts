/**
 * `pnpm bench` for upstream-openapi: what the upstream adds to a plain HTTP request, against
 * the test suite's Fastify API on loopback. Prints figures; asserts nothing. Needs `pnpm build`.
 *
 *   node bench/run.ts                  all figures
 *   BENCH_QUICK=1 node bench/run.ts    fewer iterations
 */
import { OpenApiUpstream } from "../dist/index.js";
import { startApiServer } from "../test/api-server.ts";

const RUNS = process.env.BENCH_QUICK === "1" ? 300 : 2000;
const quantile = (values: number[], q: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))]!;

async function time(fn: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < 50; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await fn();
    samples.push(performance.now() - t);
  }
  return samples;
}

const api = await startApiServer();
try {
  const t0 = performance.now();
  const upstream = new OpenApiUpstream({
    name: "pets",
    config: { openapi: `${api.url}/openapi.json` },
  });
  await upstream.connect();
  const loadMs = performance.now() - t0;
  const raw = await time(async () => (await fetch(`${api.url}/pets/1`)).json());
  const call = await time(() => upstream.callTool("getPet", { petId: 1 }));
  const row = (s: number[]) => ({
    p50: `${quantile(s, 0.5).toFixed(3)} ms`,
    p95: `${quantile(s, 0.95).toFixed(3)} ms`,
  });
  console.log(
    `document fetched, validated and turned into ${(await upstream.listTools()).length} tools in ${loadMs.toFixed(1)} ms`,
  );
  console.table({ "fetch() GET /pets/1": row(raw), "upstream.callTool(getPet)": row(call) });
  console.log(
    `overhead of the upstream at the median: ${(quantile(call, 0.5) - quantile(raw, 0.5)).toFixed(3)} ms per call`,
  );
  await upstream.close();
} finally {
  await api.close();
}
