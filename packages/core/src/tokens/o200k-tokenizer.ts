import { Worker } from "node:worker_threads";
import type { Tokenizer } from "../contracts/tokenizer.js";
import {
  type CountAnswer,
  type CountRequest,
  loadO200kCounter,
  type PieceCounter,
} from "./o200k-counter.js";

export interface O200kTokenizerOptions {
  /**
   * Longest pre-token (a word, a run of spaces, digits or punctuation) given to BPE whole, in
   * UTF-16 code units; a longer one is counted in chunks of this size. BPE is quadratic in the
   * length of a pre-token, so this bounds the work per character. Default 256.
   */
  maxPieceChars?: number;
  /** How long `countAsync` works on the event loop before it yields, in ms. Default 10. */
  sliceMs?: number;
  /**
   * Texts longer than this (UTF-16 code units) are counted by `countAsync` on a worker thread,
   * whose garbage does not pause the host's event loop. 0 never uses a worker. Default 65536.
   */
  workerAboveChars?: number;
  /** The worker thread ends after this many idle ms (it is started again when needed). Default 30000. */
  workerIdleMs?: number;
}

/**
 * The default tokenizer: OpenAI's o200k_base encoding (gpt-tokenizer), a close stand-in
 * for current frontier models. Loaded on first use: the encoding tables take ~0.4 s.
 *
 * Linear in the text for any input (see PieceCounter): exact for text whose pre-tokens are
 * at most `maxPieceChars` long, within about a token per chunk beyond. `count` runs on the
 * caller's thread; `countAsync` yields every `sliceMs` and sends large texts to a worker.
 */
export async function createO200kTokenizer(
  options: O200kTokenizerOptions = {},
): Promise<Tokenizer & { close(): Promise<void> }> {
  const maxPiece = Math.max(16, options.maxPieceChars ?? 256);
  const counter = await loadO200kCounter(maxPiece);
  const sliceMs = options.sliceMs ?? 10;
  const workerAbove = options.workerAboveChars ?? 65_536;
  const worker = new CountWorker(maxPiece, options.workerIdleMs ?? 30_000);
  return {
    name: "o200k_base",
    count: (text) => counter.count(text),
    async countAsync(text) {
      if (workerAbove > 0 && text.length > workerAbove) {
        const tokens = await worker.count(text);
        if (tokens !== undefined) return tokens;
      }
      return countInSlices(counter, text, sliceMs);
    },
    close: () => worker.close(),
  };
}

async function countInSlices(counter: PieceCounter, text: string, sliceMs: number) {
  let total = 0;
  let sliceStart = performance.now();
  for (const n of counter.parts(text)) {
    total += n;
    if (performance.now() - sliceStart >= sliceMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
  }
  return total;
}

/**
 * One worker thread that counts large texts, started on first use and ended when idle.
 * Answers undefined when the worker cannot run (the caller then counts in slices).
 */
class CountWorker {
  private worker: Worker | undefined;
  private broken = false;
  private nextId = 1;
  private readonly pending = new Map<number, (tokens: number | undefined) => void>();
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly maxPiece: number,
    private readonly idleMs: number,
  ) {}

  count(text: string): Promise<number | undefined> {
    const worker = this.start();
    if (!worker) return Promise.resolve(undefined);
    clearTimeout(this.idleTimer);
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      worker.ref();
      worker.postMessage({ id, text } satisfies CountRequest);
    });
  }

  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    const worker = this.worker;
    this.worker = undefined;
    this.settleAll();
    await worker?.terminate();
  }

  private start(): Worker | undefined {
    if (this.worker || this.broken) return this.worker;
    // dist/ runs the compiled .js; tests run src/ as TypeScript, which Node strips.
    const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
    try {
      const worker = new Worker(new URL(`./o200k-counter${ext}`, import.meta.url), {
        workerData: { o200kCounter: this.maxPiece },
      });
      worker.unref();
      worker.on("message", (answer: CountAnswer) => this.settle(answer));
      worker.on("error", () => this.fail(worker));
      worker.on("exit", () => this.fail(worker));
      this.worker = worker;
    } catch {
      this.broken = true;
    }
    return this.worker;
  }

  private settle(answer: CountAnswer): void {
    const resolve = this.pending.get(answer.id);
    this.pending.delete(answer.id);
    resolve?.(answer.error === undefined ? answer.tokens : undefined);
    if (this.pending.size > 0) return;
    this.worker?.unref();
    this.idleTimer = setTimeout(() => void this.close(), this.idleMs);
    this.idleTimer.unref();
  }

  /** A worker that errs or exits unasked: its callers count on the main thread, and so do later ones. */
  private fail(worker: Worker): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.broken = true;
    this.settleAll();
  }

  private settleAll(): void {
    for (const resolve of this.pending.values()) resolve(undefined);
    this.pending.clear();
  }
}

/** A rough fallback (4 characters per token) for when no tokenizer is loaded yet. */
export const approximateTokenizer: Tokenizer = {
  name: "approx-4cpt",
  count: (text: string) => Math.ceil(text.length / 4),
};

/** Counts with the tokenizer's `countAsync` when it has one, else with `count`. */
export function countTokensAsync(tokenizer: Tokenizer, text: string): Promise<number> {
  return tokenizer.countAsync ? tokenizer.countAsync(text) : Promise.resolve(tokenizer.count(text));
}
