import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  createO200kTokenizer,
  DEFAULT_MAX_META_TOOL_TOKENS,
  inlineApiFor,
  MCPOptimizer,
  metaToolDefinitions,
} from "../src/index.js";
import { everythingServer } from "./helpers/servers.js";

type O200k = Awaited<ReturnType<typeof createO200kTokenizer>>;

const NAMES =
  "github slack jira filesystem memory sentry postgres linear notion google_drive gmail calendar stripe shopify hubspot zendesk intercom figma confluence datadog pagerduty grafana kubernetes docker aws_docs cloud_run azure_devops vercel netlify cloudflare twilio sendgrid mailchimp salesforce airtable asana trello monday clickup discord teams zoom dropbox box okta auth0 snowflake bigquery redis mongodb".split(
    " ",
  );

/** Servers as a catalog lists them: realistic names, descriptions of ~80 characters, 5 to 40 tools. */
function servers(n: number) {
  return NAMES.slice(0, n).map((name, i) => ({
    name,
    identifier: name,
    description: `${name} MCP server: search, read and update ${name} records for the current workspace`,
    tools: Array.from({ length: 5 + ((i * 7) % 36) }, (_, j) => ({ identifier: `tool_${j}` })),
  }));
}

describe("meta-tool definitions", () => {
  let tokenizer: O200k;
  const tokens = (value: unknown) => tokenizer.count(JSON.stringify(value));
  beforeAll(async () => {
    tokenizer = await createO200kTokenizer();
  });
  afterAll(() => tokenizer?.close());

  test.each([1, 5, 20, 50])("%i servers: within 350 tokens, every server named", (n) => {
    const tools = metaToolDefinitions(servers(n), {
      maxResultTokens: 8000,
      count: (t) => tokenizer.count(t),
    });
    expect(tokens(tools)).toBeLessThanOrEqual(DEFAULT_MAX_META_TOOL_TOKENS);
    const description = tools[0]!.description;
    for (const s of servers(n)) expect(description).toContain(s.identifier);
    // The guidance the model needs, whatever the number of servers.
    expect(description).toContain("`return`");
    expect(description).toContain("mcp.search(");
    expect(description).toContain(`mcp.describe('${NAMES[0]}.tool_0')`);
    expect(description).toContain("max 8000 tokens");
    expect(description).toContain("filter in code");
    expect(description).toContain("`state`");
    expect(description).toContain(".code");
    expect(tools.map((t) => t.name)).toEqual(["execute_code", "search_tools"]);
  });

  test.each([1, 5, 20, 50])(
    "%i servers with approvals on: execute_code takes a plan id, still within 350 tokens",
    (n) => {
      const tools = metaToolDefinitions(servers(n), {
        maxResultTokens: 8000,
        count: (t) => tokenizer.count(t),
        approvals: true,
      });
      expect(tokens(tools)).toBeLessThanOrEqual(DEFAULT_MAX_META_TOOL_TOKENS);
      const schema = tools[0]!.inputSchema as { properties: object; required?: string[] };
      expect(Object.keys(schema.properties)).toEqual(["code", "session", "plan"]);
      expect(schema.required).toBeUndefined();
      for (const s of servers(n)) expect(tools[0]!.description).toContain(s.identifier);
    },
  );

  test("the server list gets terser as servers are added: descriptions, then counts, then names", () => {
    const count = (t: string) => tokenizer.count(t);
    const one = metaToolDefinitions(servers(1), { maxResultTokens: 8000, count })[0]!.description;
    expect(one).toContain("- github (5 tools): github MCP server: search, read and update");
    const fifty = metaToolDefinitions(servers(50), { maxResultTokens: 8000, count })[0]!
      .description;
    expect(fifty).not.toContain("MCP server:");
    // A ceiling below what bare names need: as many as fit, and how many more there are.
    const tight = metaToolDefinitions(servers(50), {
      maxResultTokens: 8000,
      count,
      maxTokens: 260,
    });
    expect(tokens(tight)).toBeLessThanOrEqual(260);
    expect(tight[0]!.description).toMatch(/\d+ more \(search finds them\)/);
  });

  test("without a tokenizer: the most detailed list (no ceiling can be checked)", () => {
    const tools = metaToolDefinitions(servers(50), { maxResultTokens: 8000 });
    expect(tools[0]!.description).toContain("- mongodb (");
  });

  test("inline API: on always, auto only when cheaper than a search round trip, off never", () => {
    const count = (t: string) => tokenizer.count(t);
    const few = ["files.read(args: { path: string }): Promise<unknown>"];
    const many = Array.from(
      { length: 60 },
      (_, i) =>
        `big.tool_${i}(args: { query: string; limit?: number; cursor?: string; fields?: string[] }): Promise<{ items: { id: string; name: string }[] }>`,
    );
    expect(inlineApiFor("off", few, count, 240)).toBeUndefined();
    expect(inlineApiFor("on", many, count, 240)).toBe(many.join("\n"));
    expect(inlineApiFor("auto", few, count, 240)).toBe(few[0]);
    expect(inlineApiFor("auto", many, count, 240)).toBeUndefined();
    const tools = metaToolDefinitions(servers(1), {
      maxResultTokens: 8000,
      count,
      inlineApi: few[0]!,
    });
    expect(tools[0]!.description).toContain(`API:\n${few[0]}`);
    expect(tools[0]!.description).not.toContain("mcp.search(");
  });
});

describe("meta-tool settings on the optimizer", () => {
  let optimizer: MCPOptimizer | undefined;
  afterAll(() => optimizer?.close());

  test("inlineApi 'on' puts a real server's signatures in execute_code; the ceiling applies to the rest", async () => {
    optimizer = new MCPOptimizer({
      mcpServers: { everything: everythingServer() },
      inlineApi: "on",
      requireUpstreams: true,
    });
    await optimizer.start();
    const { tools, tokens } = await optimizer.metaToolDefinitions();
    expect(tools[0]!.description).toContain("API:\neverything.echo(args: {");
    expect(tokens).toBeGreaterThan(DEFAULT_MAX_META_TOOL_TOKENS);
  }, 60_000);

  test("bad settings are typed errors", () => {
    expect(() => new MCPOptimizer({ inlineApi: "sometimes" as never })).toThrow(
      expect.objectContaining({ code: "INVALID_CONFIG" }),
    );
    expect(() => new MCPOptimizer({ maxMetaToolTokens: 0 })).toThrow(
      expect.objectContaining({ code: "INVALID_CONFIG" }),
    );
    expect(() => new MCPOptimizer({ resultEncoding: "yaml" as never })).toThrow(
      expect.objectContaining({ code: "INVALID_CONFIG" }),
    );
  });
});
