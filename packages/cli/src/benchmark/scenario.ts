import type { JsonObject, JsonValue, MCPOptimizer, ToolCallResult } from "@mcp-optimizer/core";

/**
 * A benchmark scenario: one task done two ways against real MCP servers.
 *
 * - Plain MCP: every tool definition of every connected server is in the model's context, and
 *   the model makes each tool call itself, reading every result (`PreparedScenario.plain`).
 * - Code mode: the model sees the meta-tools, writes one program (`PreparedScenario.program`)
 *   and reads only what the program returns.
 *
 * The runner connects the servers, counts both transcripts with the real tokenizer (o200k),
 * times the program on each sandbox and checks its result with `verify`.
 */
export interface BenchmarkScenario {
  /** Stable kebab-case id, used by `--scenario ID`. */
  id: string;
  /** Short title for tables and charts. */
  title: string;
  /** One or two sentences: the task and why it matters. */
  description: string;
  /** True when it runs in seconds with no credentials or network (smoke tests, `--quick`). */
  small?: boolean;
  /** Why the scenario cannot run here (a missing package or credential), or undefined when it can. */
  unavailable?(context: ScenarioContext): string | undefined | Promise<string | undefined>;
  /** Builds fixtures in `context.workDir` and says which servers to connect and what to run. */
  prepare(context: ScenarioContext): Promise<PreparedScenario>;
}

export interface ScenarioContext {
  /** A fresh directory for this scenario's fixtures; the runner removes it afterwards. */
  workDir: string;
  /** Smaller fixtures (tests and `--quick`); a scenario scales its sizes down. */
  quick: boolean;
  /** Environment variables (for servers that need a token). */
  env: Record<string, string | undefined>;
  /**
   * How to start an MCP server package's bin with the current Node, resolved from the CLI's
   * dependencies: `{ command: process.execPath, args: [binPath] }`. Throws when not installed.
   */
  serverCommand(pkg: string, bin?: string): { command: string; args: string[] };
  /** Writes one progress line to stderr. */
  progress(message: string): void;
}

/** One tool call the model asks for over plain MCP. */
export interface PlainCall {
  /** The server's name in `mcpServers`. */
  server: string;
  tool: string;
  args: JsonObject;
}

/** The plain-MCP path: real tool calls, recorded turn by turn as a model would make them. */
export interface PlainMcpClient {
  /** One model round trip asking for these calls at once; resolves with each raw result. */
  turn(calls: PlainCall[]): Promise<ToolCallResult[]>;
  /** One call in its own round trip. */
  call(server: string, tool: string, args?: JsonObject): Promise<ToolCallResult>;
  /** The text of a result as the model reads it (its text blocks joined). */
  text(result: ToolCallResult): string;
}

export interface PreparedScenario {
  /** The servers to connect, in the standard `mcpServers` shape. */
  mcpServers: Record<string, unknown>;
  /** The program the model writes in code mode (TypeScript, the body of an async function). */
  program: string;
  /** Model round trips in code mode before the final answer. Default 1 (one execute_code call). */
  codeModeRoundTrips?: number;
  /** Prepares the started optimizer as a deployment would (saves skills, say). Default: nothing. */
  setup?(optimizer: MCPOptimizer): Promise<void>;
  /**
   * A search the model makes before writing the program (for what it cannot know, a skill):
   * counted as one more round trip with its request and listing; `expect` must be listed.
   */
  discovery?: { query: string; expect: string };
  /**
   * The program the model wrote for this task before the token work, when the program changed
   * (for the before/after comparison). Default: `program`.
   */
  programBefore?: string;
  /** Does the task over plain MCP with real calls, turn by turn. */
  plain(client: PlainMcpClient): Promise<void>;
  /** Checks the program's result; throws when the program did not do the task. */
  verify?(value: JsonValue | undefined): void | Promise<void>;
  /** Undoes what `prepare` started beyond the servers (the runner closes those). */
  cleanup?(): Promise<void>;
}
