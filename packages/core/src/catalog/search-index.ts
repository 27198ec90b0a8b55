/**
 * Ranked search over tools: BM25 over weighted fields (name and title first, then parameter
 * names, then descriptions), with a tokenizer that understands identifiers.
 */

export interface SearchDocument {
  id: string;
  server: string;
  name: string;
  title?: string;
  description?: string;
  params: { name: string; description?: string }[];
}

export interface SearchIndex {
  search(
    query: string,
    options?: { limit?: number; server?: string },
  ): { id: string; score: number }[];
  readonly size: number;
}

const K1 = 1.2;
const B = 0.75;
/** Field weights: a word in a tool's name says more than a word in its description. */
const WEIGHTS = {
  name: 3,
  title: 2.5,
  params: 1.5,
  paramDescriptions: 0.5,
  description: 1,
  server: 1,
} as const;
const SERVER_BOOST = 1.5;

const STOP_WORDS = new Set(
  "a an and are as at be by for from has have i in is it its me my of on or our that the this to was we were will with you your all any can do does how please some what when which who".split(
    " ",
  ),
);

/** Light stemming: enough that "issues", "listing" and "listed" meet "issue" and "list". */
export function stem(word: string): string {
  if (word.length <= 3) return word;
  if (word.endsWith("ies") && word.length > 4) return `${word.slice(0, -3)}y`;
  if (word.endsWith("ing") && word.length > 5) return word.slice(0, -3);
  if (word.endsWith("ed") && word.length > 4) return word.slice(0, -2);
  if (word.endsWith("es") && /(ss|sh|ch|x|z)es$/.test(word)) return word.slice(0, -2);
  if (word.endsWith("s") && !word.endsWith("ss") && !word.endsWith("us")) return word.slice(0, -1);
  return word;
}

/** Splits camelCase, snake_case, kebab-case, dots and slashes; lowercases; drops stop words. */
export function searchTokens(text: string): string[] {
  return text
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0 && !STOP_WORDS.has(w))
    .map(stem);
}

interface Indexed {
  doc: SearchDocument;
  /** term -> weighted frequency */
  terms: Map<string, number>;
  length: number;
}

export function createSearchIndex(docs: readonly SearchDocument[]): SearchIndex {
  const indexed: Indexed[] = [];
  const docFreq = new Map<string, number>();
  const servers = new Set<string>();
  let totalLength = 0;
  for (const doc of docs) {
    const terms = new Map<string, number>();
    const add = (text: string | undefined, weight: number) => {
      if (!text) return;
      for (const t of searchTokens(text)) terms.set(t, (terms.get(t) ?? 0) + weight);
    };
    add(doc.name, WEIGHTS.name);
    add(doc.title, WEIGHTS.title);
    add(doc.server, WEIGHTS.server);
    add(doc.description, WEIGHTS.description);
    for (const p of doc.params) {
      add(p.name, WEIGHTS.params);
      add(p.description, WEIGHTS.paramDescriptions);
    }
    let length = 0;
    for (const [term, f] of terms) {
      length += f;
      docFreq.set(term, (docFreq.get(term) ?? 0) + 1);
    }
    totalLength += length;
    servers.add(doc.server.toLowerCase());
    indexed.push({ doc, terms, length });
  }
  const n = indexed.length;
  const avgLength = n === 0 ? 1 : totalLength / n;
  const idf = (term: string) => {
    const df = docFreq.get(term) ?? 0;
    return Math.log(1 + (n - df + 0.5) / (df + 0.5));
  };
  return {
    size: n,
    search(query, options = {}) {
      const limit = Math.max(1, Math.trunc(options.limit ?? 10));
      const words = query.toLowerCase().split(/[^a-z0-9_.-]+/);
      const named = words.filter((w) => servers.has(w));
      const terms = [...new Set(searchTokens(query))];
      if (terms.length === 0) return [];
      const weights = terms.map((t) => [t, idf(t)] as const);
      const hits: { id: string; score: number; name: string }[] = [];
      for (const entry of indexed) {
        if (options.server !== undefined && entry.doc.server !== options.server) continue;
        let score = 0;
        for (const [term, w] of weights) {
          const f = entry.terms.get(term);
          if (!f) continue;
          score += (w * f * (K1 + 1)) / (f + K1 * (1 - B + (B * entry.length) / avgLength));
        }
        if (score <= 0) continue;
        if (named.includes(entry.doc.server.toLowerCase())) score *= SERVER_BOOST;
        hits.push({ id: entry.doc.id, score, name: entry.doc.id });
      }
      hits.sort((a, b) => b.score - a.score || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      return hits.slice(0, limit).map(({ id, score }) => ({ id, score }));
    },
  };
}
