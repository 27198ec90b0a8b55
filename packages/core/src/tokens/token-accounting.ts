import type { Tokenizer } from "../contracts/tokenizer.js";
import type { ToolCallResult, UpstreamTool } from "../contracts/upstream.js";
import { countTokensAsync } from "./o200k-tokenizer.js";

/** What an image or audio block costs a model, roughly; counted instead of its base64. */
export const MEDIA_BLOCK_TOKENS = 1000;

export interface TokenFigures {
  /** Tokens the model saw in code mode: meta-tool definitions, the program, the shaped result. */
  used: number;
  /** Tokens the same work costs over plain MCP: every tool definition, every call and result. */
  plainMcp: number;
  /** The tokenizer that counted both. */
  tokenizer: string;
  /** plainMcp - used. */
  saved: number;
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
