import { formatHits } from "@mcp-optimizer/core";
import { boolFlag, type Command, stringFlag } from "../command.js";
import { ExitCodes } from "../exit-codes.js";
import { writeJson, writeLine } from "../io.js";
import { createRuntime } from "../runtime/create-runtime.js";
import { intFlag, usageError } from "../usage-error.js";

const HELP = `Usage: mcp-optimizer search QUERY [--detail name|signature|full] [--limit N] [--server NAME] [--json]

The catalog's ranked search (BM25 over names, descriptions and parameters) across every
configured server's tools: what a model finds with search_tools.

Options:
  --detail LEVEL  name, signature (default) or full (the TypeScript declaration)
  --limit N       at most N hits (default 10)
  --server NAME   only this server's tools
  --json          print the hits as JSON
  --config FILE   the config file (default: $MCPO_CONFIG, ./mcp-optimizer.config.json)
  -h, --help      this help
`;

const DETAILS = ["name", "signature", "full"] as const;

export const searchCommand: Command = {
  name: "search",
  summary: "search the tools of every configured server",
  help: HELP,
  maxPositionals: Number.POSITIVE_INFINITY,
  options: {
    detail: { type: "string" },
    limit: { type: "string" },
    server: { type: "string" },
    json: { type: "boolean" },
  },
  async run({ values, positionals, io, config }) {
    const query = positionals.join(" ").trim();
    if (!query) throw usageError("search needs a QUERY", "search");
    const detail = stringFlag(values, "detail") ?? "signature";
    if (!(DETAILS as readonly string[]).includes(detail)) {
      throw usageError(`--detail is one of ${DETAILS.join(", ")}; got "${detail}"`, "search");
    }
    const limit = intFlag(stringFlag(values, "limit"), "limit", "search", { max: 200 }) ?? 10;
    const server = stringFlag(values, "server");
    const runtime = await createRuntime({
      configFile: config,
      requireConfig: true,
      telemetry: false,
    });
    try {
      const hits = await runtime.optimizer.search(query, {
        limit,
        detail: detail as (typeof DETAILS)[number],
        ...(server ? { server } : {}),
      });
      if (boolFlag(values, "json")) writeJson(io.stdout, hits);
      else if (hits.length === 0) writeLine(io.stderr, `No tool matches "${query}".`);
      else writeLine(io.stdout, formatHits(hits, detail as (typeof DETAILS)[number]));
      return ExitCodes.OK;
    } finally {
      await runtime.close();
    }
  },
};
