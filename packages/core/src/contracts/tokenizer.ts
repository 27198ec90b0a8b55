/** Counts tokens the way a model would. The default is o200k (gpt-tokenizer). */
export interface Tokenizer {
  /** A stable name, reported with every token figure, e.g. "o200k_base". */
  readonly name: string;
  count(text: string): number;
}
