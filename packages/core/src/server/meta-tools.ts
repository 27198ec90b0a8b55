import { ErrorCodes, OptimizerError } from "../errors.js";
import type { JsonObject } from "../json.js";

export interface MetaToolDefinition {
  name: string;
  /** A display name; left out by default (clients show `name`), since every token is paid on every turn. */
  title?: string;
  description: string;
  inputSchema: JsonObject;
  /** Only what differs from MCP's defaults (not read-only, destructive, not idempotent, open world). */
  annotations?: {
    readOnlyHint?: boolean;
    destructiveHint?: boolean;
    idempotentHint?: boolean;
    openWorldHint?: boolean;
  };
}

/** The default ceiling of the meta-tool definitions, in tokens, for any number of servers. */
export const DEFAULT_MAX_META_TOOL_TOKENS = 350;

export interface MetaToolOptions {
  /** The result budget the model is told about. */
  maxResultTokens: number;
  /**
   * Counts tokens (the configured tokenizer). With it, the server list is written in the most
   * detailed form that keeps the definitions within `maxTokens`; without it, the most detailed.
   */
  count?: (text: string) => number;
  /** Ceiling of the definitions with their server list, in tokens. Default 350. */
  maxTokens?: number;
  /**
   * The typed API of the servers (one signature a line), offered inline in place of the
   * discovery sentence: the model can call without a search round trip. Default: none.
   */
  inlineApi?: string;
  /**
   * Approvals are on: execute_code also takes `plan` (the id of an approved program) in place
   * of `code`. Default false.
   */
  approvals?: boolean;
}

/** What the definitions say of a server (a CatalogServer has it). */
export interface MetaToolServer {
  name: string;
  identifier: string;
  description?: string;
  tools: readonly { identifier: string }[];
}

type ServerEntry = MetaToolServer;

/**
 * The tools the model sees. Their size depends on the number of servers, never on the number
 * of tools (tool definitions are discovered in code, on demand), and stays within `maxTokens`
 * when a tokenizer is given: the server list gets terser as servers are added.
 * docs/encodings-and-accounting.md lists what each sentence tells the model and why it is there.
 */
export function metaToolDefinitions(
  servers: readonly ServerEntry[],
  options: MetaToolOptions,
): MetaToolDefinition[] {
  // An inline API is asked for on purpose: the ceiling is for the rest.
  const maxTokens =
    (options.maxTokens ?? DEFAULT_MAX_META_TOOL_TOKENS) +
    (options.inlineApi && options.count ? options.count(JSON.stringify(options.inlineApi)) : 0);
  let tools: MetaToolDefinition[] = [];
  for (const level of SERVER_LIST_LEVELS) {
    tools = definitions(level(servers), servers, options);
    if (!options.count || options.count(JSON.stringify(tools)) <= maxTokens) return tools;
  }
  // Even bare names do not fit: as many as fit, then how many more there are.
  for (let shown = servers.length - 1; shown >= 1; shown--) {
    tools = definitions(namesOnly(servers, shown), servers, options);
    if (options.count!(JSON.stringify(tools)) <= maxTokens) return tools;
  }
  return definitions(namesOnly(servers, 0), servers, options);
}

function definitions(
  serverList: string,
  servers: readonly ServerEntry[],
  options: MetaToolOptions,
): MetaToolDefinition[] {
  const example = servers[0];
  const call = example
    ? `${example.identifier}.${example.tools[0]?.identifier ?? "tool"}`
    : "server.tool";
  const discover = options.inlineApi
    ? `API:\n${options.inlineApi}\nFull types: \`await mcp.describe('${call}')\``
    : `Discover: \`await mcp.search('what')\` → signatures; \`mcp.describe('${call}')\` → full types.`;
  const description = [
    "Run JS/TS in a sandbox: an async function body; `return` what you need.",
    `Servers (globals; tools are async functions taking one object): ${serverList}`,
    discover,
    `Only the return value and console reach you (max ${options.maxResultTokens} tokens): filter in code. \`state\` persists per session. Failed calls throw errors with .code.`,
  ].join("\n");
  return [
    {
      name: "execute_code",
      description,
      inputSchema: options.approvals
        ? {
            type: "object",
            properties: {
              code: { type: "string" },
              session: { type: "string" },
              plan: { type: "string" },
            },
            additionalProperties: false,
          }
        : {
            type: "object",
            properties: {
              code: { type: "string" },
              session: { type: "string" },
            },
            required: ["code"],
            additionalProperties: false,
          },
      // MCP's defaults hold: may write, not idempotent, reaches the world through the servers.
    },
    {
      name: "search_tools",
      description: "Search the servers' tools, as mcp.search() in code.",
      inputSchema: {
        type: "object",
        properties: {
          query: { type: "string" },
          detail: { type: "string", enum: ["name", "signature", "full"] },
          server: { type: "string" },
          limit: { type: "integer", minimum: 1, maximum: 50 },
        },
        required: ["query"],
        additionalProperties: false,
      },
      annotations: { readOnlyHint: true },
    },
  ];
}

/** Characters of a server's description at the most detailed level. */
const SERVER_LINE_CHARS = 90;
/** ... and at the terse one. */
const SHORT_LINE_CHARS = 40;

function oneLine(text: string | undefined, max: number): string {
  if (!text) return "";
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** The server list from the most detailed to the tersest; the first that fits is used. */
const SERVER_LIST_LEVELS: ((servers: readonly ServerEntry[]) => string)[] = [
  (servers) => withDescriptions(servers, SERVER_LINE_CHARS),
  (servers) => withDescriptions(servers, SHORT_LINE_CHARS),
  (servers) => servers.map((s) => `${s.identifier} (${s.tools.length})`).join(" "),
  (servers) => namesOnly(servers, servers.length),
];

function withDescriptions(servers: readonly ServerEntry[], chars: number): string {
  if (servers.length === 0) return "(none connected)";
  const lines = servers.map((s) => {
    const about = oneLine(s.description, chars);
    return `- ${s.identifier} (${s.tools.length} tools)${about ? `: ${about}` : ""}`;
  });
  return `\n${lines.join("\n")}`;
}

function namesOnly(servers: readonly ServerEntry[], shown: number): string {
  if (servers.length === 0) return "(none connected)";
  const names = servers.slice(0, shown).map((s) => s.identifier);
  const rest = servers.length - names.length;
  // Space-separated: a comma costs a token per name.
  return rest > 0 ? `${names.join(" ")} and ${rest} more (search finds them)` : names.join(" ");
}

/** `inlineApi`: "off" never, "on" always, "auto" when the API costs less than a search round trip. */
export type InlineApiSetting = "off" | "auto" | "on";

/** Tokens of the program a model writes to search (`return await mcp.search('...')`). */
const SEARCH_CALL_TOKENS = 15;
/** Hits a search returns by default. */
const SEARCH_HITS = 10;

/**
 * The typed API to offer inline, or undefined. "auto" offers it when it costs fewer tokens than
 * one search round trip would: the search the model writes, its answer (the signatures of up to
 * ten tools) and re-reading the definitions on the next round trip.
 */
export function inlineApiFor(
  setting: InlineApiSetting,
  signatures: readonly string[],
  count: (text: string) => number,
  definitionTokens: number,
): string | undefined {
  if (setting === "off" || signatures.length === 0) return undefined;
  const api = signatures.join("\n");
  if (setting === "on") return api;
  const apiTokens = count(JSON.stringify(api));
  const answer = count(signatures.slice(0, SEARCH_HITS).join("\n"));
  return apiTokens <= definitionTokens + SEARCH_CALL_TOKENS + answer ? api : undefined;
}

/**
 * The meta-tools as the optimizer serves them: within `maxTokens`, with the typed API inline
 * when `inlineApi` asks for it (`signatures` is called only then).
 */
export function servedMetaTools(
  servers: readonly MetaToolServer[],
  options: {
    maxResultTokens: number;
    maxTokens: number;
    inlineApi: InlineApiSetting;
    signatures: () => string[];
    count: (text: string) => number;
    /** execute_code takes `plan` too. Default false. */
    approvals?: boolean;
  },
): MetaToolDefinition[] {
  const base = {
    maxResultTokens: options.maxResultTokens,
    maxTokens: options.maxTokens,
    count: options.count,
    ...(options.approvals ? { approvals: true } : {}),
  };
  const tools = metaToolDefinitions(servers, base);
  if (options.inlineApi === "off") return tools;
  const api = inlineApiFor(
    options.inlineApi,
    options.signatures(),
    options.count,
    options.count(JSON.stringify(tools)),
  );
  return api ? metaToolDefinitions(servers, { ...base, inlineApi: api }) : tools;
}

/** Checks the meta-tool settings; INVALID_CONFIG names the one that is wrong. */
export function checkMetaToolSettings(maxTokens: number, inlineApi: string): void {
  if (!Number.isInteger(maxTokens) || maxTokens < 1) {
    throw new OptimizerError(
      ErrorCodes.INVALID_CONFIG,
      `maxMetaToolTokens is a positive integer; got ${maxTokens}.`,
      { details: { setting: "maxMetaToolTokens" } },
    );
  }
  if (!["off", "auto", "on"].includes(inlineApi)) {
    throw new OptimizerError(
      ErrorCodes.INVALID_CONFIG,
      `inlineApi is "off", "auto" or "on"; got ${JSON.stringify(inlineApi)}.`,
      { details: { setting: "inlineApi" } },
    );
  }
}
