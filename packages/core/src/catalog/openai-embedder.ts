import type { Embedder } from "../contracts/embedder.js";
import { ErrorCodes, OptimizerError } from "../errors.js";

export interface OpenAIEmbedderOptions {
  /** The API's base URL, up to and including /v1: "https://api.openai.com/v1", "http://127.0.0.1:11434/v1" (Ollama). */
  baseUrl: string;
  /** The embedding model, e.g. "text-embedding-3-small" or "nomic-embed-text". */
  model: string;
  /** Sent as `Authorization: Bearer <apiKey>`. Default: none (local servers). */
  apiKey?: string;
  /** Ask for vectors of this size (models that support it). Default: the model's own. */
  dimensions?: number;
  /** More headers (an organisation or project header). Default: none. */
  headers?: Record<string, string>;
  /** Longest wait for one request, in ms. Default 30000. */
  timeoutMs?: number;
}

/**
 * An Embedder for any OpenAI-compatible `POST /embeddings` endpoint: OpenAI and other hosted
 * APIs, Ollama, vLLM, llama.cpp's server. Failures are typed: unreachable or 5xx is
 * UPSTREAM_UNAVAILABLE, a timeout UPSTREAM_TIMEOUT, a refusal (bad key, unknown model)
 * INVALID_CONFIG with the server's message; the API key never appears in a message.
 */
export class OpenAIEmbedder implements Embedder {
  readonly name: string;
  private readonly url: string;

  constructor(private readonly options: OpenAIEmbedderOptions) {
    if (!/^https?:\/\//.test(options.baseUrl)) {
      throw new OptimizerError(
        ErrorCodes.INVALID_CONFIG,
        `The embeddings baseUrl must be an http(s) URL; got ${JSON.stringify(options.baseUrl)}.`,
      );
    }
    if (!options.model) {
      throw new OptimizerError(ErrorCodes.INVALID_CONFIG, "The embeddings model is required.");
    }
    this.url = `${options.baseUrl.replace(/\/+$/, "")}/embeddings`;
    this.name = `${options.model}${options.dimensions ? `@${options.dimensions}` : ""}`;
  }

  async embed(
    texts: readonly string[],
    options: { signal?: AbortSignal } = {},
  ): Promise<number[][]> {
    if (texts.length === 0) return [];
    const timeoutMs = this.options.timeoutMs ?? 30_000;
    const timeout = AbortSignal.timeout(timeoutMs);
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(this.options.apiKey ? { authorization: `Bearer ${this.options.apiKey}` } : {}),
          ...this.options.headers,
        },
        body: JSON.stringify({
          model: this.options.model,
          input: texts,
          encoding_format: "float",
          ...(this.options.dimensions ? { dimensions: this.options.dimensions } : {}),
        }),
        signal: options.signal ? AbortSignal.any([options.signal, timeout]) : timeout,
      });
    } catch (error) {
      if (timeout.aborted) {
        throw new OptimizerError(
          ErrorCodes.UPSTREAM_TIMEOUT,
          `The embeddings endpoint ${this.url} did not answer within ${timeoutMs} ms.`,
        );
      }
      const cause = (error as { cause?: { code?: string } }).cause;
      throw new OptimizerError(
        ErrorCodes.UPSTREAM_UNAVAILABLE,
        `The embeddings endpoint ${this.url} cannot be reached: ${cause?.code ?? (error as Error).message}.`,
        { cause: error },
      );
    }
    const text = await response.text();
    let body: {
      data?: { index?: number; embedding?: unknown }[];
      error?: { message?: string } | string;
    } = {};
    try {
      body = JSON.parse(text);
    } catch {}
    if (!response.ok) {
      const message =
        typeof body.error === "string" ? body.error : (body.error?.message ?? text.slice(0, 300));
      throw new OptimizerError(
        response.status >= 500 || response.status === 429
          ? ErrorCodes.UPSTREAM_UNAVAILABLE
          : ErrorCodes.INVALID_CONFIG,
        `The embeddings endpoint ${this.url} answered HTTP ${response.status}: ${message}`,
        { details: { status: response.status } },
      );
    }
    const data = Array.isArray(body.data) ? body.data : [];
    const vectors = new Array<number[]>(texts.length);
    data.forEach((d, i) => {
      const at = typeof d.index === "number" ? d.index : i;
      if (Array.isArray(d.embedding)) vectors[at] = d.embedding as number[];
    });
    const dim = vectors[0]?.length;
    if (
      data.length !== texts.length ||
      vectors.some((v) => !v || v.length !== dim || v.some((x) => typeof x !== "number"))
    ) {
      throw new OptimizerError(
        ErrorCodes.UPSTREAM_UNAVAILABLE,
        `The embeddings endpoint ${this.url} returned ${data.length} vectors for ${texts.length} texts, or vectors of different sizes.`,
      );
    }
    return vectors;
  }
}

export function createOpenAIEmbedder(options: OpenAIEmbedderOptions): OpenAIEmbedder {
  return new OpenAIEmbedder(options);
}
