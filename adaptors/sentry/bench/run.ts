/**
 * `pnpm bench`: Sentry triage done twice against the real Sentry MCP server and the local
 * Sentry API fixture, counted with core's o200k tokenizer. Prints figures; asserts nothing.
 * Needs `pnpm build` first. The same task is the CLI's `sentry-triage` benchmark scenario.
 *
 *   node bench/run.ts                 limits 5, 10 and 25; 5 timed runs each
 *   BENCH_QUICK=1 node bench/run.ts   limit 10; 2 timed runs
 *
 * Plain MCP: the model holds every Sentry tool definition, calls search_issues, reads the
 * list, then calls get_sentry_resource for each issue (one round trip, in parallel) and reads
 * every answer. Code mode: the model holds the optimizer's meta-tools, writes the triage
 * program and reads its result. Adaptor: an application calls `adaptor.triage()` and gets the
 * same result as typed data; a model that calls it as a tool reads only the result.
 */
import {
  createMcpUpstream,
  createO200kTokenizer,
  plainCallTokens,
  toolDefinitionsText,
} from "@mcp-optimizer/core";
import { createWasmSandbox } from "@mcp-optimizer/sandbox-wasm";
import { startSentryFixture } from "../dist/fixture/index.js";
import { createSentryAdaptor, triageProgram } from "../dist/index.js";

const QUICK = process.env.BENCH_QUICK === "1";
const LIMITS = QUICK ? [10] : [5, 10, 25];
const RUNS = QUICK ? 2 : 5;

const tokenizer = await createO200kTokenizer();
const fixture = await startSentryFixture({ issuesPerProject: 120, framesPerEvent: 40 });
const bin = new URL(import.meta.resolve("@sentry/mcp-server")).pathname;
const upstream = createMcpUpstream({
  name: "sentry",
  server: {
    command: process.execPath,
    args: [bin, `--host=${fixture.host}`, "--insecure-http"],
    env: { SENTRY_ACCESS_TOKEN: fixture.token },
  },
});
const adaptorOptions = {
  accessToken: fixture.token,
  host: fixture.host,
  insecureHttp: true,
  organization: "acme",
};
const adaptor = createSentryAdaptor(adaptorOptions);
const onWasm = createSentryAdaptor({ ...adaptorOptions, sandbox: createWasmSandbox() });

function stats(samples: number[]): { mean: number; p50: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    mean: round(samples.reduce((a, b) => a + b, 0) / samples.length),
    p50: round(sorted[Math.floor(sorted.length / 2)] ?? 0),
  };
}

async function plainTriage(limit: number): Promise<{ tokens: number; bytes: number; ms: number }> {
  const started = performance.now();
  const args = {
    organizationSlug: "acme",
    projectSlugOrId: "api-backend",
    query: "is:unresolved",
    sort: "freq",
    limit,
    period: "14d",
  };
  const list = await upstream.callTool("search_issues", args);
  let tokens = plainCallTokens(tokenizer, "search_issues", args, list);
  let bytes = JSON.stringify(list).length;
  const text = (list.content ?? []).map((b) => (b.type === "text" ? b.text : "")).join("\n");
  const ids = [...text.matchAll(/^## \d+\. \[([^\]]+)\]/gm)].map((m) => m[1]!);
  const details = await Promise.all(
    ids.map(async (id) => {
      const a = { organizationSlug: "acme", resourceType: "issue", resourceId: id };
      return { a, r: await upstream.callTool("get_sentry_resource", a) };
    }),
  );
  for (const { a, r } of details) {
    tokens += plainCallTokens(tokenizer, "get_sentry_resource", a, r);
    bytes += JSON.stringify(r).length;
  }
  return { tokens, bytes, ms: performance.now() - started };
}

try {
  await Promise.all([upstream.connect(), adaptor.start(), onWasm.start()]);
  const tools = await upstream.listTools();
  const definitionTokens = tokenizer.count(toolDefinitionsText(tools));
  const meta = await adaptor.optimizer.metaToolDefinitions();
  console.log(
    `Sentry MCP server ${upstream.info().serverInfo?.version}: ${tools.length} tools, ${definitionTokens} tokens of definitions`,
  );
  console.log(`optimizer meta-tools: ${meta.tools.length} tools, ${meta.tokens} tokens`);
  console.log(
    `fixture: ${fixture.data.issues.length} issues, 40-frame stack traces; tokenizer ${tokenizer.name}\n`,
  );

  const rows: string[][] = [];
  for (const limit of LIMITS) {
    const params = { project: "api-backend", period: "14d" as const, limit };
    // Warm both paths once.
    await plainTriage(limit);
    await adaptor.triageRun(params);
    await onWasm.triageRun(params);
    const plainMs: number[] = [];
    const adaptorMs: number[] = [];
    const wasmMs: number[] = [];
    let plain = { tokens: 0, bytes: 0, ms: 0 };
    let run: Awaited<ReturnType<typeof adaptor.triageRun>> | undefined;
    for (let i = 0; i < RUNS; i++) {
      plain = await plainTriage(limit);
      plainMs.push(plain.ms);
      const started = performance.now();
      run = await adaptor.triageRun(params);
      adaptorMs.push(performance.now() - started);
      const wasmStarted = performance.now();
      await onWasm.triageRun(params);
      wasmMs.push(performance.now() - wasmStarted);
    }
    const program = `const params = ${JSON.stringify({ organization: "acme", ...params })};\n${triageProgram("sentry")}`;
    const plainTotal = definitionTokens + plain.tokens;
    const codeMode = meta.tokens + tokenizer.count(program) + tokenizer.count(run!.run.text);
    const resultOnly = tokenizer.count(JSON.stringify(run!.value));
    const pct = (n: number) => `${Math.round((1 - n / plainTotal) * 1000) / 10}%`;
    rows.push([
      String(limit),
      String(plainTotal),
      `${codeMode} (-${pct(codeMode)})`,
      `${resultOnly} (-${pct(resultOnly)})`,
      String(run!.run.tokens.plainMcp),
      `${Math.round(plain.bytes / 1024)} KB`,
      `${Math.round((JSON.stringify(run!.value).length / 1024) * 10) / 10} KB`,
      `${stats(plainMs).p50} ms`,
      `${stats(adaptorMs).p50} ms`,
      `${stats(wasmMs).p50} ms`,
    ]);
  }
  const header = [
    "issues",
    "plain MCP tokens",
    "code mode tokens",
    "adaptor result tokens",
    "core's plain estimate",
    "tool answers",
    "result",
    "plain calls p50",
    "adaptor p50 (process)",
    "adaptor p50 (wasm)",
  ];
  console.log(`| ${header.join(" | ")} |`);
  console.log(`| ${header.map(() => "---").join(" | ")} |`);
  for (const row of rows) console.log(`| ${row.join(" | ")} |`);
  console.log(
    "\nplain MCP = tool definitions + every call and answer (2 model round trips); code mode = meta-tools + program + result (1 round trip);",
  );
  console.log(
    "adaptor result = the JSON an application (or a model calling the operation as a tool) reads.",
  );
  console.log(
    `timed runs per row: ${RUNS}; plain calls = the tool calls alone, with no model time.`,
  );
} finally {
  await Promise.allSettled([upstream.close(), adaptor.close(), onWasm.close()]);
  await fixture.close();
}
