import type { Tokenizer } from "../contracts/tokenizer.js";
import type { ToolCallResult, UpstreamTool } from "../contracts/upstream.js";
import { countTokensAsync } from "./o200k-tokenizer.js";

/** What an image or audio block costs a model, roughly; counted instead of its base64. */
export const MEDIA_BLOCK_TOKENS = 1000;

export interface TokenFigures {
  /**
   * Tokens the model saw in code mode, counted once (a single pass over the transcript):
   * meta-tool definitions, the program, the shaped result. The headline figure.
   */
  used: number;
  /** Tokens the same work costs over plain MCP, counted once: every tool definition, call and result. */
  plainMcp: number;
  /** The tokenizer that counted both. */
  tokenizer: string;
  /** plainMcp - used. */
  saved: number;
  /** Model round trips of each path, the final answer included. */
  roundTrips: PathFigures;
  /**
   * Input + output tokens over every round trip of each path, as a model API bills them: each
   * round trip reads the whole context again. The final answer's own output is left out.
   */
  cumulative: PathFigures;
  /** `cumulative` with what a round trip re-reads from the previous one at the prompt-cache rate. */
  cumulativeCached: PathFigures & { cachedInputRate: number };
}

/** One figure for each path. */
export interface PathFigures {
  used: number;
  plainMcp: number;
}

/** Default price of a cached input token relative to an uncached one (Anthropic's cache reads). */
export const DEFAULT_CACHED_INPUT_RATE = 0.1;

/**
 * One path of a conversation as the model goes through it: the definitions in context from the
 * start, then each round trip that asks for work (what the model writes, what comes back),
 * then one more round trip that answers.
 */
export interface TranscriptPath {
  /** Tokens in context before the first round trip: the tool definitions. */
  definitions: number;
  /** Each round trip that asked for work: the model's output, and the results it then reads. */
  steps: readonly { output: number; results: number }[];
}

export interface BilledTokens {
  /** Everything counted once. */
  singlePass: number;
  /** Σ over round trips of (context read + output written). */
  cumulative: number;
  /** `cumulative` with the part of each context that the previous round trip read at `rate`. */
  cumulativeCached: number;
  roundTrips: number;
}

/**
 * What a path costs counted once, and as billed: every round trip reads the whole context so
 * far (input) and writes its output; with a prompt cache, the prefix the previous round trip
 * read is billed at `cachedInputRate` (cache writes are not surcharged here).
 */
export function billedTokens(path: TranscriptPath, cachedInputRate: number): BilledTokens {
  let context = path.definitions;
  let previousContext = 0;
  let cumulative = 0;
  let cached = 0;
  let singlePass = path.definitions;
  const roundTrip = (output: number) => {
    cumulative += context + output;
    cached += previousContext * cachedInputRate + (context - previousContext) + output;
    previousContext = context;
  };
  for (const step of path.steps) {
    roundTrip(step.output);
    context += step.output + step.results;
    singlePass += step.output + step.results;
  }
  roundTrip(0); // the answer: it reads everything; its own output is the same on both paths
  return {
    singlePass,
    cumulative,
    cumulativeCached: Math.round(cached),
    roundTrips: path.steps.length + 1,
  };
}

/**
 * Groups tool calls into the model round trips that plain MCP needs: a call that started before
 * any call of the current round trip had answered ran beside them (a model asks for both at
 * once); one that started after an answer may depend on it, so it begins the next round trip.
 */
export function roundTripsOf<T extends { startedMs: number; endedMs: number }>(
  calls: readonly T[],
): T[][] {
  const sorted = [...calls].sort((a, b) => a.startedMs - b.startedMs);
  const turns: T[][] = [];
  let firstAnswer = Number.NEGATIVE_INFINITY;
  for (const call of sorted) {
    const current = turns.at(-1);
    if (current && call.startedMs < firstAnswer) {
      current.push(call);
      firstAnswer = Math.min(firstAnswer, call.endedMs);
    } else {
      turns.push([call]);
      firstAnswer = call.endedMs;
    }
  }
  return turns;
}

/** The tool list as an MCP client hands it to a model: name, description, schemas, annotations. */
export function toolDefinitionsText(
  tools: readonly (UpstreamTool & { server?: string })[],
): string {
  return JSON.stringify(
    tools.map((t) => ({
      name: t.name,
      ...(t.title ? { title: t.title } : {}),
      ...(t.description ? { description: t.description } : {}),
      input_schema: t.inputSchema,
      ...(t.outputSchema ? { output_schema: t.outputSchema } : {}),
      ...(t.annotations ? { annotations: t.annotations } : {}),
    })),
  );
}

/** A tool call as the model writes it over plain MCP. */
export function toolCallText(name: string, args: unknown): string {
  return JSON.stringify({ name, input: args ?? {} });
}

/** A tool result as an MCP client shows it to the model: the content blocks. */
export function toolResultText(result: ToolCallResult): { text: string; mediaBlocks: number } {
  const parts: string[] = [];
  let mediaBlocks = 0;
  for (const block of result.content ?? []) {
    if (block.type === "text" && typeof block.text === "string") parts.push(block.text);
    else if (block.type === "image" || block.type === "audio") mediaBlocks++;
    else if (block.type === "resource") {
      const resource = block.resource as { text?: string; uri?: string } | undefined;
      parts.push(resource?.text ?? resource?.uri ?? "");
    } else parts.push(JSON.stringify(block));
  }
  if (parts.length === 0 && result.structuredContent)
    parts.push(JSON.stringify(result.structuredContent));
  return { text: parts.join("\n"), mediaBlocks };
}

/** Counts the plain-MCP cost of one tool call: the call the model writes and the result it reads. */
export function plainCallTokens(
  tokenizer: Tokenizer,
  name: string,
  args: unknown,
  result: ToolCallResult | undefined,
): number {
  let tokens = tokenizer.count(toolCallText(name, args));
  if (result) {
    const { text, mediaBlocks } = toolResultText(result);
    tokens += tokenizer.count(text) + mediaBlocks * MEDIA_BLOCK_TOKENS;
  }
  return tokens;
}

/** plainCallTokens with `countAsync`: a result of megabytes is counted without stalling the host. */
export async function plainCallTokensAsync(
  tokenizer: Tokenizer,
  name: string,
  args: unknown,
  result: ToolCallResult | undefined,
): Promise<number> {
  let tokens = await countTokensAsync(tokenizer, toolCallText(name, args));
  if (result) {
    const { text, mediaBlocks } = toolResultText(result);
    tokens += (await countTokensAsync(tokenizer, text)) + mediaBlocks * MEDIA_BLOCK_TOKENS;
  }
  return tokens;
}
