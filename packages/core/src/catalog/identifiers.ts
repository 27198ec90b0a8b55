/**
 * How MCP server and tool names become JavaScript identifiers in the sandbox. The rules are
 * documented for users and models in docs/identifiers.md; keep the two in step.
 */

const RESERVED_WORDS = new Set(
  (
    "break case catch class const continue debugger default delete do else enum export extends false finally for " +
    "function if import in instanceof new null return super switch this throw true try typeof var void while with " +
    "yield let static implements interface package private protected public await async of get set"
  ).split(" "),
);

/**
 * Globals a server object must not shadow in the guest: the prelude's own (`mcp`, `state`,
 * `console`, `skills`, `params`), the language's, and the web APIs the sandboxes provide.
 */
export const GUEST_GLOBALS: ReadonlySet<string> = new Set(
  (
    "mcp state context console skills globalThis undefined NaN Infinity eval arguments Object Array Promise JSON Math Date Error " +
    "String Number Boolean Symbol BigInt Map Set WeakMap WeakSet RegExp Function Proxy Reflect Intl TypeError " +
    "RangeError SyntaxError setTimeout clearTimeout structuredClone TextEncoder TextDecoder URL atob btoa params"
  ).split(" "),
);

/**
 * Maps any name to a valid identifier: accents are dropped (ü -> u), every run of characters
 * outside [A-Za-z0-9_$] becomes one "_", a leading digit gets a "_" prefix, a reserved word gets
 * a "_" suffix, and the empty name becomes "_". ASCII only, so every model can type it.
 */
export function toIdentifier(name: string): string {
  let id = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[^A-Za-z0-9_$]+/g, "_");
  if (id === "") return "_";
  if (/^[0-9]/.test(id)) id = `_${id}`;
  if (RESERVED_WORDS.has(id)) id = `${id}_`;
  return id;
}

/**
 * The global a server gets in the guest when its identifier collides with no other server's:
 * `toIdentifier`, plus a `_` suffix for the guest's own globals (`console` -> `console_`).
 */
export function serverGlobalName(name: string): string {
  const id = toIdentifier(name);
  return GUEST_GLOBALS.has(id) ? `${id}_` : id;
}

/**
 * Unique identifiers for a set of names, independent of their order: names are taken in sorted
 * order, the first keeps the base identifier and later collisions get `_2`, `_3`, ...
 * Identifiers in `reserved` are never produced (they get a `_` suffix first).
 */
export function assignIdentifiers(
  names: readonly string[],
  options: { reserved?: Iterable<string> } = {},
): Map<string, string> {
  const reserved = new Set(options.reserved ?? []);
  const taken = new Set<string>();
  const result = new Map<string, string>();
  const sorted = [...new Set(names)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  // Names that are already exact identifiers claim theirs first, so `get_user` keeps `get_user`
  // even when `get-user` sorts before it.
  const exact = sorted.filter((n) => toIdentifier(n) === n && !reserved.has(n));
  const rest = sorted.filter((n) => !exact.includes(n));
  for (const name of [...exact, ...rest]) {
    let base = toIdentifier(name);
    if (reserved.has(base)) base = `${base}_`;
    let candidate = base;
    for (let n = 2; taken.has(candidate) || reserved.has(candidate); n++)
      candidate = `${base}_${n}`;
    taken.add(candidate);
    result.set(name, candidate);
  }
  return result;
}

/** The original name behind an identifier or a name (the guest may use either). */
export function resolveToolName(
  requested: string,
  mapping: ReadonlyMap<string, string>,
): string | undefined {
  if (mapping.has(requested)) return requested;
  for (const [name, id] of mapping) if (id === requested) return name;
  return undefined;
}

function distance(a: string, b: string): number {
  if (a === b) return 0;
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

function words(text: string): string[] {
  return text
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

/** "Did you mean" candidates: close by edit distance or sharing words, best first. */
export function suggest(requested: string, candidates: readonly string[], max = 3): string[] {
  const want = requested.toLowerCase();
  const wantWords = new Set(words(requested));
  const scored = candidates.map((c) => {
    const d = distance(want, c.toLowerCase()) / Math.max(want.length, c.length, 1);
    const shared = words(c).filter((w) => wantWords.has(w)).length;
    return { c, score: d - shared * 0.25 };
  });
  return scored
    .filter((s) => s.score < 0.5)
    .sort((a, b) => a.score - b.score || a.c.localeCompare(b.c))
    .slice(0, max)
    .map((s) => s.c);
}
