import {
  type JsonObject,
  plainCallTokens,
  type Tokenizer,
  type ToolCallResult,
  toolCallText,
  type Upstream,
} from "@mcp-optimizer/core";
import type { PlainCall, PlainMcpClient } from "./scenario.js";
import { resultText } from "./scenarios/fixtures.js";

/** The plain-MCP path: makes the real calls and counts what a model would read and write. */
export class RecordingPlainClient implements PlainMcpClient {
  /** Model round trips that asked for tool calls. */
  turns = 0;
  calls = 0;
  /** Tokens of the calls the model wrote and the results it read. */
  callTokens = 0;
  /** Each round trip that asked for calls: tokens the model wrote, tokens it read back. */
  readonly steps: { output: number; results: number }[] = [];
  /** Each round trip's measured call time (its calls run at once), in ms. */
  readonly stepMs: number[] = [];

  constructor(
    private readonly upstreams: Map<string, Upstream>,
    private readonly tokenizer: Tokenizer,
  ) {}

  async turn(calls: PlainCall[]): Promise<ToolCallResult[]> {
    this.turns++;
    const step = { output: 0, results: 0 };
    this.steps.push(step);
    const started = performance.now();
    let lastAnswer = started;
    const results = await Promise.all(
      calls.map(async (c) => {
        const upstream = this.upstreams.get(c.server);
        if (!upstream) throw new Error(`plain path: no server "${c.server}"`);
        const result = await upstream.callTool(c.tool, c.args);
        lastAnswer = Math.max(lastAnswer, performance.now());
        if (result.isError)
          throw new Error(
            `plain path: ${c.server}.${c.tool} failed: ${resultText(result).slice(0, 300)}`,
          );
        this.calls++;
        const tokens = plainCallTokens(this.tokenizer, c.tool, c.args, result);
        const written = this.tokenizer.count(toolCallText(c.tool, c.args));
        this.callTokens += tokens;
        step.output += written;
        step.results += tokens - written;
        return result;
      }),
    );
    // Until the last answer came: counting tokens is the benchmark's work, not the task's.
    this.stepMs.push(lastAnswer - started);
    return results;
  }

  async call(server: string, tool: string, args: JsonObject = {}): Promise<ToolCallResult> {
    const [result] = await this.turn([{ server, tool, args }]);
    return result!;
  }

  text(result: ToolCallResult): string {
    return resultText(result);
  }
}
