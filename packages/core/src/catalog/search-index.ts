/**
 * Ranked lexical search over tools: BM25F over separately weighted fields (the tool's name
 * first, then its title, the first sentence of its description, parameter names, the rest
 * of the description, parameter descriptions), Porter stems and a small thesaurus, the
 * request's verb matched against what the tool does, and a boost for a server the request names.
 */
import type { ToolAnnotations } from "../contracts/upstream.js";
import { type Intent, intentFit, queryIntents, toolIntents } from "./search-intent.js";
import { expandQuery, searchTokens, stem, words } from "./search-text.js";

export { searchTokens, stem } from "./search-text.js";

export interface SearchDocument {
  id: string;
  server: string;
  name: string;
  title?: string;
  description?: string;
  params: { name: string; description?: string }[];
  annotations?: ToolAnnotations;
}

export interface SearchIndex {
  search(
    query: string,
    options?: { limit?: number; server?: string },
  ): { id: string; score: number }[];
  /** The request's own search terms (stems) with their idf in this index. */
  terms(query: string): { term: string; idf: number }[];
  /**
   * What a tool matching every word of the request about as well as BM25 allows would score
   * (the sum of idf x (k1 + 1)): scores divided by it compare across requests.
   */
  scale(query: string): number;
  readonly size: number;
}

export type SearchField =
  | "server"
  | "name"
  | "title"
  | "summary"
  | "description"
  | "params"
  | "paramDescriptions";
type Field = SearchField;

/** The ranker's knobs; the defaults were tuned on the tuning part of bench/search only. */
export interface SearchIndexOptions {
  /** Weight of each field. Default: name 4, title 2.5, server 1.5, summary 1.5, params 1.2, description 0.6, parameter descriptions 0.3. */
  weights?: Partial<Record<SearchField, number>>;
  /** Score factor for a tool whose verb fits the request's (x 1 + bonus). Default 0.3. */
  intentBonus?: number;
  /** Score factor for a tool whose verb contradicts the request's (x 1 - penalty). Default 0.35. */
  intentPenalty?: number;
  /** How much unmatched request words count against a tool, 0 to 1. Default 0.5. */
  coverage?: number;
  /** Score factor for tools of a server the request names. Default 1.5. */
  serverBoost?: number;
}

/** Field weights: a word in a tool's name says more than one deep in its description. */
const WEIGHTS: Record<Field, number> = {
  server: 1.5,
  name: 4,
  title: 2.5,
  summary: 1.5,
  description: 0.6,
  params: 1.2,
  paramDescriptions: 0.3,
};
const FIELDS = Object.keys(WEIGHTS) as Field[];
const K1 = 1.2;
/** Length normalisation per field: long descriptions should not drown short, precise ones. */
const B: Record<Field, number> = {
  server: 0,
  name: 0.5,
  title: 0.5,
  summary: 0.6,
  description: 0.75,
  params: 0.5,
  paramDescriptions: 0.75,
};
const SERVER_BOOST = 1.5;
const INTENT_BONUS = 0.3;
const INTENT_PENALTY = 0.35;
/** How much a request's own words left unmatched count against a tool (0 = not at all). */
const COVERAGE = 0.5;
/**
 * Score factor per request word found in the tool's name as written, not only as a stem: the
 * plural in "list open issues" points at list_issues, the singular in "an issue" at get_issue.
 */
const SURFACE_BONUS = 0.1;

interface Indexed {
  doc: SearchDocument;
  fields: Record<Field, Map<string, number>>;
  lengths: Record<Field, number>;
  serverStems: Set<string>;
  /** The name's words as written: "issues" in list_issues, "issue" in get_issue. */
  nameWords: Set<string>;
  intents: Intent[];
}

function firstSentence(text: string): { summary: string; rest: string } {
  const match = /^[\s\S]*?[.!?](\s|$)/.exec(text.trim());
  const summary = match ? match[0] : text;
  return { summary, rest: text.trim().slice(summary.length) };
}

function counts(tokens: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of tokens) m.set(t, (m.get(t) ?? 0) + 1);
  return m;
}

function indexDocument(doc: SearchDocument): Indexed {
  const serverStems = new Set(searchTokens(doc.server));
  // "slack_post_message" on server "slack": the server's own word says nothing about the tool.
  const nameTokens = searchTokens(doc.name).filter((t) => !serverStems.has(t));
  const { summary, rest } = firstSentence(doc.description ?? "");
  const tokens: Record<Field, string[]> = {
    server: [...serverStems],
    name: nameTokens,
    title: searchTokens(doc.title ?? ""),
    summary: searchTokens(summary),
    description: searchTokens(rest),
    params: doc.params.flatMap((p) => searchTokens(p.name)),
    paramDescriptions: doc.params.flatMap((p) => searchTokens(p.description ?? "")),
  };
  const fields = {} as Record<Field, Map<string, number>>;
  const lengths = {} as Record<Field, number>;
  for (const f of FIELDS) {
    fields[f] = counts(tokens[f]);
    lengths[f] = tokens[f].length;
  }
  return {
    doc,
    fields,
    lengths,
    serverStems,
    nameWords: new Set(words(doc.name)),
    intents: toolIntents(doc.name, doc.description ?? doc.title, doc.annotations),
  };
}

export function createSearchIndex(
  docs: readonly SearchDocument[],
  options: SearchIndexOptions = {},
): SearchIndex {
  const weights = { ...WEIGHTS, ...options.weights };
  const intentBonus = options.intentBonus ?? INTENT_BONUS;
  const intentPenalty = options.intentPenalty ?? INTENT_PENALTY;
  const coverage = options.coverage ?? COVERAGE;
  const serverBoost = options.serverBoost ?? SERVER_BOOST;
  const indexed = docs.map(indexDocument);
  const n = indexed.length;
  const docFreq = new Map<string, number>();
  const avg = {} as Record<Field, number>;
  for (const f of FIELDS) avg[f] = 0;
  for (const entry of indexed) {
    const seen = new Set<string>();
    for (const f of FIELDS) {
      avg[f] += entry.lengths[f];
      for (const t of entry.fields[f].keys()) seen.add(t);
    }
    for (const t of seen) docFreq.set(t, (docFreq.get(t) ?? 0) + 1);
  }
  for (const f of FIELDS) avg[f] = n === 0 ? 1 : Math.max(avg[f] / n, 1e-9);
  // Postings: term -> (document, field-weighted and length-normalised frequency), built once
  // so a search visits only the documents that hold one of its terms.
  const postings = new Map<string, { doc: number; tf: number }[]>();
  indexed.forEach((entry, doc) => {
    const tfs = new Map<string, number>();
    for (const f of FIELDS) {
      const norm = 1 - B[f] + (B[f] * entry.lengths[f]) / avg[f];
      for (const [t, c] of entry.fields[f]) tfs.set(t, (tfs.get(t) ?? 0) + (weights[f] * c) / norm);
    }
    for (const [t, tf] of tfs) {
      const list = postings.get(t) ?? [];
      postings.set(t, list);
      list.push({ doc, tf });
    }
  });
  const serverWords = new Map<string, string>(); // stem -> server
  for (const entry of indexed)
    for (const s of entry.serverStems) serverWords.set(s, entry.doc.server);
  const idf = (term: string) => {
    const df = docFreq.get(term) ?? 0;
    return Math.log(1 + (n - df + 0.5) / (df + 0.5));
  };

  /** Servers the request names, also by a prefix ("mongo" for "mongodb"). */
  const namedServers = (query: string): Set<string> => {
    const named = new Set<string>();
    for (const w of words(query)) {
      const s = stem(w);
      const exact = serverWords.get(s) ?? serverWords.get(w);
      if (exact) named.add(exact);
      else if (w.length >= 4)
        for (const [sw, server] of serverWords) if (sw.startsWith(w)) named.add(server);
    }
    return named;
  };

  return {
    size: n,
    scale(query) {
      return this.terms(query).reduce((a, t) => a + t.idf * (K1 + 1), 0) || 1;
    },
    terms(query) {
      return [...new Set(searchTokens(query))]
        .map((term) => ({ term, idf: idf(term) }))
        .filter((t) => t.idf > 0);
    },
    search(query, options = {}) {
      const limit = Math.max(1, Math.trunc(options.limit ?? 10));
      // Each request word is a concept: its postings and its thesaurus words' (weaker), with
      // the idf of the commonest of them, so a synonym never outweighs the word itself.
      const concepts = expandQuery(query)
        .map((c) => ({
          ...c,
          idf: Math.min(
            ...c.alternatives.filter((a) => docFreq.has(a.term)).map((a) => idf(a.term)),
          ),
        }))
        .filter((c) => Number.isFinite(c.idf) && c.idf > 0);
      if (concepts.length === 0) return [];
      const ownIdf = concepts.reduce((a, c) => a + c.idf, 0);
      const intents = queryIntents(query);
      const named = namedServers(query);
      const queryWords = new Set(words(query));
      const scores = new Map<number, { score: number; matchedOwn: number }>();
      for (const c of concepts) {
        const tf = new Map<number, { tf: number; own: boolean }>();
        for (const alt of c.alternatives) {
          for (const { doc, tf: f } of postings.get(alt.term) ?? []) {
            if (options.server !== undefined && indexed[doc]!.doc.server !== options.server)
              continue;
            const acc = tf.get(doc) ?? { tf: 0, own: false };
            tf.set(doc, acc);
            acc.tf += alt.weight * f;
            if (alt.weight === 1) acc.own = true;
          }
        }
        for (const [doc, { tf: f, own }] of tf) {
          const acc = scores.get(doc) ?? { score: 0, matchedOwn: 0 };
          scores.set(doc, acc);
          acc.score += c.idf * ((f * (K1 + 1)) / (f + K1));
          acc.matchedOwn += own ? c.idf : c.idf / 2;
        }
      }
      const hits: { id: string; score: number }[] = [];
      for (const [doc, acc] of scores) {
        const entry = indexed[doc]!;
        let score = acc.score;
        if (score <= 0) continue;
        if (ownIdf > 0) score *= 1 - coverage + coverage * (acc.matchedOwn / ownIdf);
        const fit = intentFit(intents, entry.intents);
        score *= fit >= 0 ? 1 + intentBonus * fit : 1 - intentPenalty;
        if (named.has(entry.doc.server)) score *= serverBoost;
        let surface = 0;
        for (const w of queryWords) if (entry.nameWords.has(w)) surface++;
        score *= 1 + SURFACE_BONUS * surface;
        hits.push({ id: entry.doc.id, score });
      }
      hits.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      return hits.slice(0, limit);
    },
  };
}
