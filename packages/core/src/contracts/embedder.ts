/**
 * Turns texts into vectors whose closeness follows their meaning, for hybrid tool search.
 * Implementations: createOpenAIEmbedder (core), for any OpenAI-compatible `/v1/embeddings`
 * endpoint (hosted APIs, Ollama, vLLM).
 */
export interface Embedder {
  /** Names the model: vectors are cached per (name, text), so a new model means new vectors. */
  readonly name: string;
  /** One vector per text, in order, all of one dimension. Rejects with a typed error. */
  embed(texts: readonly string[], options?: { signal?: AbortSignal }): Promise<number[][]>;
}
