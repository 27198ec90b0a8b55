import type { JsonValue, LogEntry } from "@mcp-optimizer/core";

/**
 * The model-facing text of code mode as it was before the token work (core at commit d938a70):
 * the two meta-tool definitions and the result rendering (pretty-printed JSON below 2,000
 * characters). Frozen here, so one benchmark run prints the figures before and after side by
 * side; never change it to follow core.
 */

interface BaselineServer {
  identifier: string;
  description?: string;
  tools: readonly { identifier: string }[];
}

const SERVER_LINE_CHARS = 90;

function oneLine(text: string | undefined): string {
  if (!text) return "";
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > SERVER_LINE_CHARS ? `${line.slice(0, SERVER_LINE_CHARS - 1)}…` : line;
}

/** core's metaToolDefinitions at d938a70, verbatim. */
export function baselineMetaToolDefinitions(
  servers: readonly BaselineServer[],
  options: { maxResultTokens: number },
): object[] {
  const lines = servers.map((s) => {
    const about = oneLine(s.description);
    return `- ${s.identifier} (${s.tools.length} tools)${about ? `: ${about}` : ""}`;
  });
  const example = servers[0];
  const call = example
    ? `${example.identifier}.${example.tools[0]?.identifier ?? "some_tool"}`
    : "server.tool";
  const description = [
    "Run a TypeScript or JavaScript program in a sandbox connected to these MCP servers. Each server is a global object; each tool is an async function that takes one object of arguments and returns structured data.",
    ...(lines.length ? lines : ["- (no servers connected)"]),
    `Discover before calling: \`await mcp.search("what you need", { detail: "signature" })\` returns matching tools with their TypeScript signatures; \`await mcp.describe("${call}")\` returns one tool's full declaration. Then call, e.g. \`const r = await ${call}({ ... })\`.`,
    `Filter and aggregate data in code and return only what you need: the returned value (and console output) is all you see, cut at ${options.maxResultTokens} tokens. \`state\` is an object kept between executions of the same session. Failed calls throw errors with a \`code\`.`,
  ].join("\n");
  return [
    {
      name: "execute_code",
      title: "Run code against the connected MCP servers",
      description,
      inputSchema: {
        type: "object",
        properties: {
          code: {
            type: "string",
            description:
              "The program: the body of an async function. `return` the result; top-level await works.",
          },
          session: {
            type: "string",
            description:
              "Session id to continue (keeps `state`); omit to use this connection's session.",
          },
        },
        required: ["code"],
        additionalProperties: false,
      },
      annotations: {
        readOnlyHint: false,
        destructiveHint: true,
        idempotentHint: false,
        openWorldHint: true,
      },
    },
    {
      name: "search_tools",
      title: "Search the tools of the connected MCP servers",
      description:
        'Ranked search over every tool of every connected server. detail: "name" (names and one line), "signature" (TypeScript signatures, the default) or "full" (declarations with docs and types). Prefer mcp.search() inside execute_code when you will call the tool right away.',
      inputSchema: {
        type: "object",
        properties: {
          query: {
            type: "string",
            description: 'What the tool should do, e.g. "list open issues".',
          },
          detail: { type: "string", enum: ["name", "signature", "full"] },
          server: { type: "string", description: "Only this server's tools." },
          limit: { type: "integer", minimum: 1, maximum: 50 },
        },
        required: ["query"],
        additionalProperties: false,
      },
      annotations: {
        readOnlyHint: true,
        destructiveHint: false,
        idempotentHint: true,
        openWorldHint: false,
      },
    },
  ];
}

/** core's renderOutcome at d938a70, verbatim: pretty JSON below 2,000 characters. */
export function baselineRenderOutcome(
  value: JsonValue | undefined,
  logs: readonly LogEntry[],
  logsTruncated: boolean,
): string {
  let text: string;
  if (value === undefined)
    text = logs.length > 0 ? "" : "(the program returned nothing; `return` the data you need)";
  else if (typeof value === "string") text = value;
  else {
    const compact = JSON.stringify(value);
    text = compact.length <= 2000 ? JSON.stringify(value, null, 2) : compact;
  }
  if (logs.length > 0 || logsTruncated) {
    const lines = logs.map((l) =>
      l.level === "log" || l.level === "info" ? l.text : `[${l.level}] ${l.text}`,
    );
    if (logsTruncated) lines.push("[console output cut: log less, or return the data instead]");
    text = text
      ? `${text}\n\n--- console ---\n${lines.join("\n")}`
      : `--- console ---\n${lines.join("\n")}`;
  }
  return text;
}
