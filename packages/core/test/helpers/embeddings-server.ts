import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";

/**
 * A local server that speaks the OpenAI embeddings API (POST /v1/embeddings) with a real,
 * deterministic embedding: hashed word and character-trigram counts (so related spellings
 * and shared words land close). No model weights can be fetched here; this one is computed.
 */
export interface EmbeddingsServer {
  url: string;
  /** Texts embedded so far, in order. */
  inputs: string[];
  /** Requests seen (model, input count, authorization header). */
  requests: { model: string; count: number; authorization?: string }[];
  /** Make the next requests fail with this status. */
  failWith: number | undefined;
  close(): Promise<void>;
}

const DIM = 256;

export function embedText(text: string): number[] {
  const v = new Array<number>(DIM).fill(0);
  const add = (feature: string, weight: number) => {
    const h = createHash("md5").update(feature).digest();
    const i = h.readUInt16LE(0) % DIM;
    v[i]! += h[2]! & 1 ? weight : -weight;
  };
  for (const word of text
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean)) {
    add(`w:${word}`, 1);
    const padded = `^${word}$`;
    for (let i = 0; i + 3 <= padded.length; i++) add(`t:${padded.slice(i, i + 3)}`, 0.5);
  }
  return v;
}

export async function startEmbeddingsServer(apiKey = "test-key-123"): Promise<EmbeddingsServer> {
  const state: EmbeddingsServer = {
    url: "",
    inputs: [],
    requests: [],
    failWith: undefined,
    close: async () => {},
  };
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      const send = (status: number, json: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(json));
      };
      if (req.method !== "POST" || req.url !== "/v1/embeddings")
        return send(404, { error: { message: "not found" } });
      if (req.headers.authorization !== `Bearer ${apiKey}`)
        return send(401, { error: { message: "Incorrect API key provided" } });
      if (state.failWith) return send(state.failWith, { error: { message: "overloaded" } });
      const { model, input } = JSON.parse(body) as { model: string; input: string[] | string };
      const texts = Array.isArray(input) ? input : [input];
      state.requests.push({ model, count: texts.length, authorization: req.headers.authorization });
      if (model !== "trigram-256")
        return send(404, { error: { message: `model "${model}" not found` } });
      state.inputs.push(...texts);
      send(200, {
        object: "list",
        model,
        data: texts.map((t, index) => ({ object: "embedding", index, embedding: embedText(t) })),
        usage: { prompt_tokens: 0, total_tokens: 0 },
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  state.url = `http://127.0.0.1:${port}/v1`;
  state.close = () => new Promise((r) => server.close(() => r()));
  return state;
}
