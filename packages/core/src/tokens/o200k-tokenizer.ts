import type { Tokenizer } from "../contracts/tokenizer.js";

/**
 * The default tokenizer: OpenAI's o200k_base encoding (gpt-tokenizer), a close stand-in
 * for current frontier models. Loaded on first use: the encoding tables take ~0.4 s.
 */
export async function createO200kTokenizer(): Promise<Tokenizer> {
  const { countTokens } = await import("gpt-tokenizer/encoding/o200k_base");
  return {
    name: "o200k_base",
    // Special-token markers in tool data ("<|endoftext|>") are ordinary text here, never an error.
    count: (text: string) =>
      text.length === 0 ? 0 : countTokens(text, { disallowedSpecial: new Set() }),
  };
}

/** A rough fallback (4 characters per token) for when no tokenizer is loaded yet. */
export const approximateTokenizer: Tokenizer = {
  name: "approx-4cpt",
  count: (text: string) => Math.ceil(text.length / 4),
};
