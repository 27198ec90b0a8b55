import {
  ErrorCodes,
  OptimizerError,
  type PiiDetector,
  type PiiKind,
  type PiiMatch,
} from "@mcp-optimizer/core";
import { kindOfEntity, PRESIDIO_DEFAULT_ENTITIES } from "./entity-mapping.js";
import { codePointOffsets } from "./offsets.js";
import { resolveOverlaps } from "./resolve-overlaps.js";

export interface PresidioDetectorOptions {
  /** Base URL of Presidio's analyzer service, e.g. "http://localhost:5002" (its image listens on 3000). */
  url: string;
  /** Language of the texts, one the analyzer has recognizers for. Default "en". */
  language?: string;
  /**
   * Results scored below this are dropped (Presidio's `score_threshold`). Default 0.4: Presidio
   * scores a phone number 0.4 when no context word ("phone", "call") is near it.
   */
  scoreThreshold?: number;
  /**
   * The entity types asked for, and the kind each becomes: a list of types (EMAIL_ADDRESS is
   * "email", PHONE_NUMBER "phone", CREDIT_CARD "card", IBAN_CODE "iban", IP_ADDRESS "ip", URL
   * "url", any other lower-cased: PERSON is "person", US_SSN "us_ssn"), or a map of type to
   * kind. Default: `PRESIDIO_DEFAULT_ENTITIES`.
   */
  entities?: readonly string[] | Readonly<Record<string, PiiKind>>;
  /** Longest wait for one answer, in ms. Default 10000. */
  timeoutMs?: number;
  /** Sent with every request, e.g. { authorization: "Bearer ..." }; never logged or put in an error. */
  headers?: Readonly<Record<string, string>>;
  /** Answers kept for texts of up to 1,000 characters (object keys repeat in every row). Default 1000; 0 keeps none. */
  cacheSize?: number;
}

/** A `PiiDetector` backed by Presidio's analyzer, and what that analyzer supports. */
export interface PresidioDetector extends PiiDetector {
  detect(text: string): Promise<PiiMatch[]>;
  /** The entity types the analyzer supports for `language` (`GET /supportedentities`). */
  supportedEntities(): Promise<string[]>;
}

interface AnalyzerResult {
  entity_type: string;
  start: number;
  end: number;
  score: number;
}

const CACHED_TEXT_CHARS = 1_000;

/**
 * A PiiDetector that asks Microsoft Presidio's analyzer (`POST /analyze`) over HTTP. Its
 * offsets (code points) become JavaScript string offsets, its overlapping results are resolved
 * (higher score, then longer span), and its entity types become kinds. A failure is a typed
 * error: UPSTREAM_UNAVAILABLE (cannot be reached, 5xx), UPSTREAM_TIMEOUT, INVALID_CONFIG (an
 * answer that says the configuration is wrong). docs/privacy.md.
 */
export function createPresidioDetector(options: PresidioDetectorOptions): PresidioDetector {
  const base = checkedUrl(options?.url);
  const language = options.language ?? "en";
  if (typeof language !== "string" || !/^[A-Za-z]{2,3}([-_][A-Za-z0-9]+)*$/.test(language)) {
    throw invalid(`language is a language code such as "en"; got ${JSON.stringify(language)}.`);
  }
  const threshold = options.scoreThreshold ?? 0.4;
  if (typeof threshold !== "number" || !(threshold >= 0 && threshold <= 1)) {
    throw invalid(`scoreThreshold is a number from 0 to 1; got ${String(threshold)}.`);
  }
  const timeoutMs = options.timeoutMs ?? 10_000;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) {
    throw invalid(`timeoutMs is a positive integer (ms); got ${String(timeoutMs)}.`);
  }
  const cacheSize = options.cacheSize ?? 1_000;
  if (!Number.isInteger(cacheSize) || cacheSize < 0) {
    throw invalid(`cacheSize is an integer of 0 or more; got ${String(cacheSize)}.`);
  }
  const mapping = entityMapping(options.entities ?? PRESIDIO_DEFAULT_ENTITIES);
  const headers = checkedHeaders(options.headers);
  const where = `Presidio's analyzer at ${base.origin}${base.pathname.replace(/\/$/, "")}`;
  const cache = new Map<string, PiiMatch[]>();

  async function request(path: string, init: RequestInit): Promise<unknown> {
    let response: Response;
    let body: string;
    try {
      response = await fetch(new URL(path, base), {
        ...init,
        headers: { accept: "application/json", ...headers, ...init.headers },
        signal: AbortSignal.timeout(timeoutMs),
      });
      body = await response.text();
    } catch (error) {
      if ((error as Error)?.name === "TimeoutError") {
        throw new OptimizerError(
          ErrorCodes.UPSTREAM_TIMEOUT,
          `${where} did not answer within ${timeoutMs} ms: raise timeoutMs, or give the analyzer more CPU.`,
          { details: { timeoutMs } },
        );
      }
      const cause = (error as { cause?: { code?: string } })?.cause?.code;
      throw new OptimizerError(
        ErrorCodes.UPSTREAM_UNAVAILABLE,
        `${where} cannot be reached${cause ? ` (${cause})` : ""}: start it, or fix url.`,
        { details: cause ? { cause } : {} },
      );
    }
    if (response.ok) {
      try {
        return JSON.parse(body);
      } catch {
        throw notAnalyzer(`answered ${response.status} with a body that is not JSON`);
      }
    }
    throw failed(response.status, body);
  }

  function failed(status: number, body: string): OptimizerError {
    // Presidio answers {"error": "..."}; only its known messages are quoted (another could hold the text).
    let message = "";
    try {
      message = String((JSON.parse(body) as { error?: unknown }).error ?? "");
    } catch {}
    if (/No matching recognizers/i.test(message)) {
      return invalid(
        `${where} has no recognizers for language "${language}" and the entities asked for (it answered ${status}): set language to one it serves, or entities to types it has (GET /supportedentities).`,
        { status },
      );
    }
    if (status === 401 || status === 403) {
      return invalid(`${where} refused the request (${status}): check the headers it needs.`, {
        status,
      });
    }
    if (status >= 500) {
      return new OptimizerError(
        ErrorCodes.UPSTREAM_UNAVAILABLE,
        `${where} answered ${status}: see its log, it may be starting or out of memory.`,
        { details: { status } },
      );
    }
    return notAnalyzer(`answered ${status}`, status);
  }

  function notAnalyzer(what: string, status?: number): OptimizerError {
    return invalid(`${where} ${what}: is url Presidio's analyzer (not its anonymizer)?`, {
      ...(status ? { status } : {}),
    });
  }

  async function analyze(text: string): Promise<PiiMatch[]> {
    const answer = await request("analyze", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        text,
        language,
        entities: [...mapping.keys()],
        score_threshold: threshold,
      }),
    });
    if (!Array.isArray(answer)) throw notAnalyzer("answered something other than a list");
    const unit = codePointOffsets(text);
    const found: (PiiMatch & { score: number })[] = [];
    for (const r of answer as AnalyzerResult[]) {
      const kind = mapping.get(r?.entity_type);
      // An entity not asked for (a deployment that ignores `entities`) is not this detector's.
      if (kind === undefined || typeof r.score !== "number" || r.score < threshold) continue;
      const start = unit(r.start);
      const end = unit(r.end);
      if (start === undefined || end === undefined || end < start) {
        throw notAnalyzer("answered offsets outside the text");
      }
      if (end > start)
        found.push({ kind, start, end, value: text.slice(start, end), score: r.score });
    }
    return resolveOverlaps(found).map(({ kind, start, end, value }) => ({
      kind,
      start,
      end,
      value,
    }));
  }

  return {
    name: "presidio",
    kinds: [...new Set(mapping.values())],
    async detect(text: string): Promise<PiiMatch[]> {
      // Presidio refuses an empty text (500 "No text provided").
      if (text.length === 0) return [];
      const cacheable = cacheSize > 0 && text.length <= CACHED_TEXT_CHARS;
      const hit = cacheable ? cache.get(text) : undefined;
      if (hit) {
        cache.delete(text);
        cache.set(text, hit);
        return hit.map((m) => ({ ...m }));
      }
      const matches = await analyze(text);
      if (cacheable) {
        if (cache.size >= cacheSize) cache.delete(cache.keys().next().value!);
        cache.set(
          text,
          matches.map((m) => ({ ...m })),
        );
      }
      return matches;
    },
    async supportedEntities(): Promise<string[]> {
      const answer = await request(`supportedentities?language=${encodeURIComponent(language)}`, {
        method: "GET",
      });
      if (!Array.isArray(answer) || answer.some((e) => typeof e !== "string")) {
        throw notAnalyzer("answered something other than a list of entity types");
      }
      return answer as string[];
    },
  };
}

function invalid(message: string, details?: Record<string, unknown>): OptimizerError {
  return new OptimizerError(ErrorCodes.INVALID_CONFIG, `Presidio detector: ${message}`, {
    ...(details ? { details } : {}),
  });
}

/** The analyzer's base URL, ending in "/" so paths resolve under it; no credentials in it. */
function checkedUrl(url: unknown): URL {
  let parsed: URL | undefined;
  try {
    parsed = typeof url === "string" ? new URL(url) : undefined;
  } catch {}
  if (!parsed || (parsed.protocol !== "http:" && parsed.protocol !== "https:")) {
    throw invalid(
      `url is the analyzer's http(s) address, e.g. "http://localhost:5002"; got ${typeof url === "string" ? JSON.stringify(url.replace(/\/\/[^@/]*@/, "//***@")) : typeof url}.`,
    );
  }
  if (parsed.username || parsed.password) {
    throw invalid("url holds credentials: send them as headers (e.g. authorization) instead.");
  }
  if (parsed.search || parsed.hash) throw invalid("url is a base address, without ? or #.");
  if (!parsed.pathname.endsWith("/")) parsed.pathname += "/";
  return parsed;
}

function checkedHeaders(headers: unknown): Record<string, string> {
  if (headers === undefined) return {};
  if (
    typeof headers !== "object" ||
    headers === null ||
    Object.values(headers).some((v) => typeof v !== "string")
  ) {
    throw invalid("headers is an object of header names to string values.");
  }
  return { ...(headers as Record<string, string>) };
}

function entityMapping(entities: unknown): Map<string, PiiKind> {
  const pairs: [string, unknown][] = Array.isArray(entities)
    ? entities.map((e) => [e, typeof e === "string" ? kindOfEntity(e) : undefined])
    : entities && typeof entities === "object"
      ? Object.entries(entities)
      : [];
  if (
    pairs.length === 0 ||
    pairs.some(
      ([entity, kind]) =>
        typeof entity !== "string" ||
        !/^[A-Za-z][A-Za-z0-9_]*$/.test(entity) ||
        typeof kind !== "string" ||
        kind === "",
    )
  ) {
    throw invalid(
      'entities is a non-empty list of Presidio entity types ("EMAIL_ADDRESS", "PERSON") or a map of type to kind ({ "PERSON": "name" }).',
    );
  }
  return new Map(pairs as [string, PiiKind][]);
}
