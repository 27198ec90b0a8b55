// The o200k pre-token counter, and the entry of the worker thread that counts large texts.
// Self-contained (node: and gpt-tokenizer imports only, erasable TypeScript) so that the same
// file runs as a worker from dist/ and, under tests, from src/.
import { isMainThread, parentPort, workerData } from "node:worker_threads";

/** Pre-tokens counted between two yields of `parts()`. */
const PIECES_PER_PART = 64;

/**
 * Counts a text pre-token by pre-token with the o200k encoding of gpt-tokenizer. The library
 * splits a pre-token into itself, so the sum equals the library's count of the whole text;
 * but a pre-token's BPE is quadratic in its length, so one longer than `maxPiece` is counted
 * in chunks of that size (within about a token per chunk of the exact count). A bounded
 * cache of pre-token counts replaces the library's merge cache, whose eviction slows down
 * as it churns.
 */
export class PieceCounter {
  private readonly cache = new Map<string, number>();
  private readonly countPiece: (piece: string) => number;
  private readonly split: RegExp;
  private readonly maxPiece: number;
  private readonly cacheSize: number;

  constructor(
    countPiece: (piece: string) => number,
    split: RegExp,
    maxPiece: number,
    cacheSize = 20_000,
  ) {
    this.countPiece = countPiece;
    this.split = split;
    this.maxPiece = maxPiece;
    this.cacheSize = cacheSize;
  }

  count(text: string): number {
    let total = 0;
    for (const n of this.parts(text)) total += n;
    return total;
  }

  /** The count in parts of PIECES_PER_PART pre-tokens (or chunks): each a bounded amount of work. */
  *parts(text: string): Generator<number> {
    let total = 0;
    let pieces = 0;
    for (const [piece] of text.matchAll(this.split)) {
      if (piece.length <= this.maxPiece) total += this.cached(piece);
      else {
        for (let at = 0; at < piece.length; ) {
          let to = Math.min(piece.length, at + this.maxPiece);
          if (to < piece.length && isHighSurrogate(piece.charCodeAt(to - 1))) to--;
          total += this.cached(piece.slice(at, to));
          at = to;
        }
      }
      if (++pieces === PIECES_PER_PART) {
        yield total;
        total = 0;
        pieces = 0;
      }
    }
    yield total;
  }

  private cached(piece: string): number {
    let n = this.cache.get(piece);
    if (n === undefined) {
      n = this.countPiece(piece);
      if (this.cache.size >= this.cacheSize) this.cache.clear();
      // A copy: a slice of the text would keep the whole text alive in the cache.
      this.cache.set(` ${piece}`.slice(1), n);
    }
    return n;
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** Loads the o200k tables (~0.4 s) and returns a counter over them. */
export async function loadO200kCounter(maxPiece: number): Promise<PieceCounter> {
  const [{ countTokens, setMergeCacheSize }, { O200K_TOKEN_SPLIT_REGEX }] = await Promise.all([
    import("gpt-tokenizer/encoding/o200k_base"),
    import("gpt-tokenizer/encodingParams/constants"),
  ]);
  setMergeCacheSize(0);
  // Special-token markers in tool data ("<|endoftext|>") are ordinary text here, never an error.
  const ordinary = { disallowedSpecial: new Set<string>() };
  return new PieceCounter(
    (piece) => countTokens(piece, ordinary),
    O200K_TOKEN_SPLIT_REGEX,
    maxPiece,
  );
}

/** A request to the counting worker, and its answer. */
export interface CountRequest {
  id: number;
  text: string;
}
export interface CountAnswer {
  id: number;
  tokens?: number;
  error?: string;
}

if (!isMainThread && parentPort && (workerData as { o200kCounter?: number })?.o200kCounter) {
  const port = parentPort;
  const ready = loadO200kCounter((workerData as { o200kCounter: number }).o200kCounter);
  port.on("message", (request: CountRequest) => {
    ready
      .then((counter) => port.postMessage({ id: request.id, tokens: counter.count(request.text) }))
      .catch((error: unknown) =>
        port.postMessage({ id: request.id, error: String((error as Error)?.message ?? error) }),
      );
  });
}
