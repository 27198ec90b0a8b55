import { stemmer } from "stemmer";

/**
 * Text handling for tool search: identifiers split on case, underscores, dashes, dots and
 * slashes; stop words dropped; words reduced to their Porter stem; a small thesaurus of the
 * words people use for the same thing ("folder" and "directory", "remove" and "delete").
 */

const STOP_WORDS = new Set(
  (
    "a an and are as at be been by for from has have i i'm in is it its it's me my of on or our " +
    "that the this to was we were will with you your all any can could do does did how please some " +
    "what when which who whom whose why would should there their them they these those so just " +
    "into onto than then too very also us let lets want need like give tell me myself yet now right"
  ).split(" "),
);

/** Porter stem of one lowercase word; short words and numbers stay as they are. */
export function stem(word: string): string {
  if (word.length <= 3 || /^\d+$/.test(word)) return word;
  return stemmer(word);
}

/** Lowercase words of a text, identifiers split: "listIssues" -> ["list", "issues"]. */
export function words(text: string): string[] {
  return text
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0);
}

/** Stems of a text's words, stop words dropped. */
export function searchTokens(text: string): string[] {
  return words(text)
    .filter((w) => !STOP_WORDS.has(w))
    .map(stem);
}

/** Weight of a word that came from the thesaurus rather than from the query. */
export const SYNONYM_WEIGHT = 0.4;
/** Weight of an abbreviation's long form ("pull request" for "PR") and the other way round. */
export const ABBREVIATION_WEIGHT = 0.9;

/**
 * Words that stand for the same thing in tool descriptions and in what people ask. Each
 * group is symmetric; a query word also searches its group's other words at a lower weight.
 * Kept to general software vocabulary: nothing here names a particular server's tool.
 */
const SYNONYM_GROUPS: string[][] = [
  ["delete", "remove", "erase", "drop", "destroy", "purge", "wipe", "discard", "forget", "rid"],
  ["create", "new", "make", "add", "insert", "generate"],
  ["update", "change", "modify", "edit", "alter", "patch", "set", "rewrite"],
  ["get", "retrieve", "fetch", "read", "show", "view", "display", "load"],
  ["list", "enumerate", "all", "every"],
  ["search", "find", "look", "lookup", "locate", "query", "grep", "seek"],
  ["run", "execute", "exec", "trigger", "launch", "start", "invoke"],
  ["stop", "cancel", "halt", "abort", "terminate", "kill", "end"],
  ["send", "post", "publish", "announce", "notify", "message", "tell"],
  ["reply", "respond", "answer"],
  ["directory", "folder", "dir"],
  ["file", "document", "doc"],
  ["repository", "repo", "project"],
  ["issue", "ticket", "bug"],
  ["error", "exception", "crash", "failure", "problem"],
  ["user", "member", "people", "person", "account", "everyone"],
  ["organization", "org", "organisation", "team", "workspace"],
  ["page", "tab"],
  ["dialog", "popup", "alert", "confirm", "prompt"],
  ["screenshot", "capture", "snapshot", "picture"],
  ["database", "db"],
  ["log", "logs", "output"],
  ["rename", "move"],
  ["image", "picture", "photo", "img"],
  ["size", "big", "biggest", "large", "largest", "space"],
  ["url", "link", "website", "site", "web"],
  ["comment", "note", "remark"],
  ["approve", "review"],
  ["location", "address", "place", "coordinates", "latitude", "longitude"],
  ["distance", "far", "travel"],
  ["direction", "route", "way", "navigate"],
  ["remember", "memorize", "memory", "store", "save"],
  ["status", "state", "progress", "health"],
  ["config", "configuration", "settings", "setting", "preferences"],
  ["process", "program", "command", "terminal", "shell"],
];

/** Abbreviations: the same word, so searched at nearly full weight. */
const ABBREVIATIONS: string[][] = [
  ["pull request", "pr"],
  ["merge request", "mr"],
  ["repository", "repo"],
  ["directory", "dir"],
  ["database", "db"],
  ["organization", "org"],
  ["kubernetes", "k8s"],
  ["configuration", "config"],
];

/** stem -> (other stem -> weight); multi-word entries map their words jointly. */
const SYNONYMS: Map<string, Map<string, number>> = (() => {
  const map = new Map<string, Map<string, number>>();
  const groups = [
    ...SYNONYM_GROUPS.map((g) => [g, SYNONYM_WEIGHT] as const),
    ...ABBREVIATIONS.map((g) => [g, ABBREVIATION_WEIGHT] as const),
  ];
  for (const [group, weight] of groups) {
    const stems = group.map((entry) => searchTokens(entry).join(" ")).filter(Boolean);
    for (const s of stems) {
      const others = map.get(s) ?? new Map<string, number>();
      map.set(s, others);
      for (const other of stems)
        if (other !== s) others.set(other, Math.max(others.get(other) ?? 0, weight));
    }
  }
  return map;
})();

export interface QueryTerm {
  term: string;
  /** 1 for the query's own words, lower for thesaurus words. */
  weight: number;
}

/** One word of the request and the words that stand for it (itself first, at weight 1). */
export interface QueryConcept {
  term: string;
  alternatives: QueryTerm[];
}

/**
 * The words a request searches: each of its own stems with the thesaurus's other words for
 * it (two-word entries such as "pull request" for "PR" included). A thesaurus word counts as
 * a weaker occurrence of the request's word, never as a word of its own: "read" cannot score
 * higher through "retrieve" than through "read".
 */
export function expandQuery(query: string): QueryConcept[] {
  const own = [...new Set(searchTokens(query))];
  const tokens = searchTokens(query);
  return own.map((term) => {
    const alternatives = new Map<string, number>([[term, 1]]);
    const at = tokens.indexOf(term);
    const keys = [term];
    if (at >= 0 && at + 1 < tokens.length) keys.unshift(`${term} ${tokens[at + 1]}`);
    for (const key of keys) {
      for (const [syn, weight] of SYNONYMS.get(key) ?? []) {
        for (const part of syn.split(" "))
          if (!alternatives.has(part) && !own.includes(part)) alternatives.set(part, weight);
      }
    }
    return {
      term,
      alternatives: [...alternatives].map(([t, weight]) => ({ term: t, weight })),
    };
  });
}
