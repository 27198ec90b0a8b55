import { ErrorCodes, OptimizerError } from "../errors.js";
import { DEFAULT_CACHED_INPUT_RATE } from "./token-accounting.js";

/**
 * Input-token list prices in US dollars per million tokens, used to estimate what the
 * tokens of an execution cost. Prices change: pass your own table with `pricing.prices`.
 */
export const DEFAULT_PRICES_PER_MTOK: Readonly<Record<string, number>> = {
  "claude-opus-4": 15,
  "claude-sonnet-4": 3,
  "claude-haiku-4": 1,
  "gpt-5": 1.25,
  "gpt-4.1": 2,
  "gpt-4o": 2.5,
  "gemini-2.5-pro": 1.25,
};

export const DEFAULT_PRICING_MODEL = "claude-sonnet-4";

export interface PricingOptions {
  /** The model whose prices apply. Default "claude-sonnet-4". */
  model?: string;
  /** Model -> USD per million input tokens; merged over the defaults. */
  prices?: Record<string, number>;
  /**
   * Price of a cached input token relative to an uncached one, for the cumulative figures with
   * a prompt cache (from 0 to 1). Default 0.1, Anthropic's cache reads (OpenAI's: 0.25 to 0.5).
   */
  cachedInputRate?: number;
}

export interface Pricing {
  model: string;
  usdPerMillion: number;
  /** Price of a cached input token relative to an uncached one. */
  cachedInputRate: number;
  cost(tokens: number): number;
}

export function createPricing(options: PricingOptions = {}): Pricing {
  const model = options.model ?? DEFAULT_PRICING_MODEL;
  const table = { ...DEFAULT_PRICES_PER_MTOK, ...options.prices };
  const usdPerMillion = table[model] ?? 0;
  const cachedInputRate = options.cachedInputRate ?? DEFAULT_CACHED_INPUT_RATE;
  if (!(cachedInputRate >= 0 && cachedInputRate <= 1)) {
    throw new OptimizerError(
      ErrorCodes.INVALID_CONFIG,
      `pricing.cachedInputRate is a number from 0 to 1 (the price of a cached input token relative to an uncached one); got ${cachedInputRate}.`,
      { details: { setting: "pricing.cachedInputRate" } },
    );
  }
  return {
    model,
    usdPerMillion,
    cachedInputRate,
    cost: (tokens) => (tokens * usdPerMillion) / 1_000_000,
  };
}
