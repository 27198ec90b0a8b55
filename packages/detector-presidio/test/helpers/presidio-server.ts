import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createDefaultPiiDetector } from "@mcp-optimizer/core";

/** One result as Presidio's analyzer answers it (offsets in code points). */
export interface AnalyzerResult {
  entity_type: string;
  start: number;
  end: number;
  score: number;
  analysis_explanation: null;
}

export interface PresidioServer {
  url: string;
  /** The requests it got: path, headers, parsed body. */
  requests: { method: string; path: string; headers: IncomingMessage["headers"]; body: unknown }[];
  /** Test knobs: wait before answering, answer a status, or answer these results instead. */
  delayMs: number;
  failWith: number | undefined;
  answer: ((text: string) => AnalyzerResult[]) | undefined;
  /** When set, requests without this authorization header get 401. */
  authorization: string | undefined;
  close(): Promise<void>;
}

const LANGUAGES = ["en"];
const CONTEXT = /\b(phone|number|telephone|cell|cellphone|mobile|call)\b/i;
const PERSON = /(?<!\p{L})(?:Alice|Bob|Carol|Jane|John|Zoë)(?: \p{Lu}\p{Ll}+)?(?!\p{L})/gu;
const SUPPORTED = [
  "CREDIT_CARD",
  "EMAIL_ADDRESS",
  "IBAN_CODE",
  "IP_ADDRESS",
  "PERSON",
  "PHONE_NUMBER",
  "URL",
];
const ENTITY_OF: Record<string, string> = {
  email: "EMAIL_ADDRESS",
  phone: "PHONE_NUMBER",
  card: "CREDIT_CARD",
  iban: "IBAN_CODE",
  ip: "IP_ADDRESS",
  url: "URL",
};

/**
 * A local server that speaks Presidio analyzer's HTTP API (presidio-analyzer/app.py): POST
 * /analyze, GET /supportedentities, GET /health, with its status codes and error bodies. It
 * really detects: core's built-in detector stands in for Presidio's pattern recognizers, with
 * Presidio's scores (a phone number 0.4, raised by 0.35 with a context word before it; an
 * e-mail's domain also reported as a URL at 0.5, as Presidio's UrlRecognizer does), and a toy
 * PERSON recognizer for its NER. Offsets are code points, as Python's; results come unsorted.
 */
export async function startPresidioServer(): Promise<PresidioServer> {
  const detector = createDefaultPiiDetector({ kinds: Object.keys(ENTITY_OF) });
  const state: PresidioServer = {
    url: "",
    requests: [],
    delayMs: 0,
    failWith: undefined,
    answer: undefined,
    authorization: undefined,
    close: async () => {},
  };

  async function analyze(text: string, entities: string[] | undefined, threshold: number) {
    let results: AnalyzerResult[];
    if (state.answer) results = state.answer(text);
    else {
      const cp = codePoints(text);
      const at = (start: number, end: number, entity: string, score: number): AnalyzerResult => ({
        entity_type: entity,
        start: cp[start]!,
        end: cp[end]!,
        score,
        analysis_explanation: null,
      });
      results = [];
      for (const m of await detector.detect(text)) {
        const entity = ENTITY_OF[m.kind]!;
        let score = 1;
        if (m.kind === "phone") {
          score = CONTEXT.test(text.slice(Math.max(0, m.start - 30), m.start)) ? 0.75 : 0.4;
        } else if (m.kind === "ip") score = 0.6;
        else if (m.kind === "url") score = /^[a-z]+:\/\//i.test(m.value) ? 0.6 : 0.5;
        results.push(at(m.start, m.end, entity, score));
        if (m.kind === "email") {
          const domain = m.value.indexOf("@") + 1;
          results.push(at(m.start + domain, m.end, "URL", 0.5));
        }
      }
      for (const p of text.matchAll(PERSON)) {
        results.push(at(p.index, p.index + p[0].length, "PERSON", 0.85));
      }
    }
    return results
      .filter((r) => r.score >= threshold && (!entities || entities.includes(r.entity_type)))
      .reverse();
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const raw = await readBody(req);
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = Symbol.for("invalid");
    }
    state.requests.push({
      method: req.method ?? "",
      path: url.pathname,
      headers: req.headers,
      body,
    });
    if (state.delayMs) await new Promise((r) => setTimeout(r, state.delayMs));
    if (state.failWith) return json(res, state.failWith, { error: "Internal server error" });
    if (state.authorization && req.headers.authorization !== state.authorization) {
      return json(res, 401, { error: "Unauthorized" });
    }
    if (url.pathname === "/health" && req.method === "GET") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end("Presidio Analyzer service is up");
      return;
    }
    if (url.pathname === "/supportedentities" && req.method === "GET") {
      const language = url.searchParams.get("language");
      if (!language || !LANGUAGES.includes(language)) return noRecognizers(res);
      return json(res, 200, SUPPORTED);
    }
    if (url.pathname === "/analyze") {
      if (req.method !== "POST")
        return json(res, 405, { error: "The method is not allowed for the requested URL." });
      if (typeof body === "symbol") {
        return json(res, 400, {
          error: "The browser (or proxy) sent a request that this server could not understand.",
        });
      }
      const request = (body ?? {}) as {
        text?: string;
        language?: string;
        entities?: string[] | null;
        score_threshold?: number | null;
      };
      if (!request.text) return json(res, 500, { error: "No text provided" });
      if (!request.language) return json(res, 500, { error: "No language provided" });
      if (!LANGUAGES.includes(request.language)) return noRecognizers(res);
      const entities = request.entities ?? undefined;
      if (entities && !entities.some((e) => SUPPORTED.includes(e))) return noRecognizers(res);
      const results = await analyze(request.text, entities, request.score_threshold ?? 0);
      // Presidio writes JSON with sorted keys.
      return json(res, 200, results);
    }
    return json(res, 404, { error: "The requested URL was not found on the server." });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => json(res, 500, { error: error.message }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

/** cp[i]: the code point index of UTF-16 offset i (Python's index of the same place). */
function codePoints(text: string): Uint32Array {
  const cp = new Uint32Array(text.length + 1);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    cp[i] = n;
    const c = text.charCodeAt(i);
    const next = text.charCodeAt(i + 1);
    if (c >= 0xd800 && c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) cp[++i] = n;
    n++;
  }
  cp[text.length] = n;
  return cp;
}

function noRecognizers(res: ServerResponse): void {
  json(res, 500, { error: "No matching recognizers were found to serve the request." });
}

function json(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(
    JSON.stringify(value, (_k, v) =>
      v && typeof v === "object" && !Array.isArray(v) ? sortKeys(v) : v,
    ),
  );
}

function sortKeys(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.keys(o)
      .sort()
      .map((k) => [k, o[k]]),
  );
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
