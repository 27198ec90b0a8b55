/** Counts tokens the way a model would. The default is o200k (gpt-tokenizer). */
export interface Tokenizer {
  /** A stable name, reported with every token figure, e.g. "o200k_base". */
  readonly name: string;
  count(text: string): number;
  /**
   * The same count, yielding to the event loop between slices of a large text, so that
   * counting a tool result of megabytes never stalls the host. Optional: without it the
   * engine calls `count`.
   */
  countAsync?(text: string): Promise<number>;
}
