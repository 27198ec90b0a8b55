/**
 * Collects the evaluation set's tool lists: starts each MCP server package (installed from
 * npm into DIR) over stdio with placeholder credentials, asks tools/list, and writes
 * bench/search/tools/<server>.json with the package, its version and how the list was taken.
 * Only names, descriptions, annotations and the top level of the input schema are kept.
 *
 *   npm install --prefix DIR --ignore-scripts <the packages below>
 *   node bench/search/collect-tools.ts DIR
 */
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";

interface Source {
  server: string;
  pkg: string;
  bin?: string;
  args?: string[];
  env?: Record<string, string>;
}

const SOURCES: Source[] = [
  { server: "everything", pkg: "@modelcontextprotocol/server-everything" },
  { server: "filesystem", pkg: "@modelcontextprotocol/server-filesystem", args: ["/tmp"] },
  { server: "memory", pkg: "@modelcontextprotocol/server-memory" },
  {
    server: "sentry",
    pkg: "@sentry/mcp-server",
    args: ["--access-token=placeholder"],
  },
  {
    server: "github",
    pkg: "@modelcontextprotocol/server-github",
    env: { GITHUB_PERSONAL_ACCESS_TOKEN: "placeholder" },
  },
  {
    server: "gitlab",
    pkg: "@modelcontextprotocol/server-gitlab",
    env: {
      GITLAB_PERSONAL_ACCESS_TOKEN: "placeholder",
      GITLAB_API_URL: "http://127.0.0.1:9/api/v4",
    },
  },
  {
    server: "slack",
    pkg: "@modelcontextprotocol/server-slack",
    env: { SLACK_BOT_TOKEN: "xoxb-placeholder", SLACK_TEAM_ID: "T0" },
  },
  {
    server: "postgres",
    pkg: "@modelcontextprotocol/server-postgres",
    args: ["postgresql://127.0.0.1:9/db"],
  },
  { server: "puppeteer", pkg: "@modelcontextprotocol/server-puppeteer" },
  {
    server: "google_maps",
    pkg: "@modelcontextprotocol/server-google-maps",
    env: { GOOGLE_MAPS_API_KEY: "placeholder" },
  },
  {
    server: "brave_search",
    pkg: "@modelcontextprotocol/server-brave-search",
    env: { BRAVE_API_KEY: "placeholder" },
  },
  { server: "notion", pkg: "@notionhq/notion-mcp-server", env: { NOTION_TOKEN: "placeholder" } },
  { server: "playwright", pkg: "@playwright/mcp" },
  { server: "chrome_devtools", pkg: "chrome-devtools-mcp", bin: "chrome-devtools-mcp" },
  { server: "kubernetes", pkg: "mcp-server-kubernetes" },
  {
    server: "circleci",
    pkg: "@circleci/mcp-server-circleci",
    env: { CIRCLECI_TOKEN: "placeholder" },
  },
  { server: "firecrawl", pkg: "firecrawl-mcp", env: { FIRECRAWL_API_KEY: "fc-placeholder" } },
  { server: "context7", pkg: "@upstash/context7-mcp" },
  { server: "mongodb", pkg: "mongodb-mcp-server" },
  { server: "desktop_commander", pkg: "@wonderwhy-er/desktop-commander", bin: "desktop-commander" },
];

const here = dirname(fileURLToPath(import.meta.url));
const dir = process.argv[2] ?? "";
if (dir === "")
  throw new Error(
    "usage: node bench/search/collect-tools.ts DIR (where the servers are installed)",
  );

function packageDir(pkg: string): string {
  for (const base of [
    join(dir, "node_modules"),
    join(here, "../../node_modules"),
    join(here, "../../../cli/node_modules"),
  ]) {
    try {
      readFileSync(join(base, pkg, "package.json"));
      return join(base, pkg);
    } catch {}
  }
  throw new Error(`${pkg} is not installed in ${dir}`);
}

type Schema = {
  properties?: Record<string, { description?: string; type?: unknown }>;
  required?: string[];
};

for (const source of SOURCES) {
  const root = packageDir(source.pkg);
  const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const bins = typeof manifest.bin === "string" ? { x: manifest.bin } : manifest.bin;
  const bin = source.bin ? bins[source.bin] : Object.values(bins)[0];
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [join(root, bin as string), ...(source.args ?? [])],
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...source.env },
    stderr: "ignore",
  });
  const client = new Client({ name: "collect-tools", version: "0" });
  try {
    await client.connect(transport, { timeout: 60_000 });
    const tools = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : {}, { timeout: 60_000 });
      tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor);
    const out = {
      server: source.server,
      source: `${source.pkg}@${manifest.version} from npm; tools/list over stdio${source.args?.length ? ` (args: ${source.args.join(" ")})` : ""}`,
      tools: tools.map((t) => {
        const schema = (t.inputSchema ?? {}) as Schema;
        return {
          name: t.name,
          ...(t.title ? { title: t.title } : {}),
          ...(t.description ? { description: t.description } : {}),
          inputSchema: {
            type: "object",
            properties: Object.fromEntries(
              Object.entries(schema.properties ?? {}).map(([k, v]) => [
                k,
                {
                  ...(typeof v?.type === "string" ? { type: v.type } : {}),
                  ...(typeof v?.description === "string" ? { description: v.description } : {}),
                },
              ]),
            ),
            ...(schema.required?.length ? { required: schema.required } : {}),
          },
          ...(t.annotations ? { annotations: t.annotations } : {}),
        };
      }),
    };
    writeFileSync(
      join(here, "tools", `${source.server}.json`),
      `${JSON.stringify(out, null, 1)}\n`,
    );
    console.log(`${source.server}: ${tools.length} tools (${source.pkg}@${manifest.version})`);
  } catch (error) {
    console.log(`${source.server}: FAILED ${(error as Error).message}`);
  } finally {
    await client.close().catch(() => {});
  }
}
