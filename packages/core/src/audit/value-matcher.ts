// The forms a known value takes on its way out of the host, for redaction and taint tracking.
/** Encoded fragments shorter than this are not matched: they would hit unrelated text. */
const MIN_FRAGMENT_LENGTH = 6;

/** Finds known values in text, in their plain form and the encodings they commonly take. */
export interface ValueMatcher {
  /** Replaces every occurrence (of any value, in any form) with what `by(index)` gives. */
  replace(text: string, by: (index: number) => string): string;
  /** The indices of the values that occur in a text. */
  find(text: string): Set<number>;
  /** Whether any value occurs. */
  test(text: string): boolean;
  readonly size: number;
}

/**
 * A matcher of `values` (indices into the array) and the forms an upstream or a program commonly
 * turns them into: JSON string escapes, URL and form encoding (escapes in either case), base64
 * and base64url at any of the three byte alignments inside a longer encoded text, and hex.
 */
export function createValueMatcher(values: readonly string[]): ValueMatcher {
  // One capture group per value, longest values first so a value that contains another wins.
  const order = values.map((v, i) => ({ v, i })).sort((a, b) => b.v.length - a.v.length);
  const groups = order.map(({ v }) =>
    [...new Set(encodedPatterns(v))].sort((a, b) => b.length - a.length).join("|"),
  );
  const pattern =
    groups.length === 0 ? undefined : new RegExp(groups.map((g) => `(${g})`).join("|"), "g");
  const which = (match: RegExpExecArray | string[]): number => {
    for (let g = 1; g < match.length; g++) if (match[g] !== undefined) return order[g - 1]!.i;
    return -1;
  };
  return {
    replace: (text, by) =>
      pattern && text.length > 0
        ? text.replace(pattern, (...args: unknown[]) => {
            const match = args.slice(0, groups.length + 1) as string[];
            return by(which(match));
          })
        : text,
    find: (text) => {
      const found = new Set<number>();
      if (!pattern) return found;
      for (const m of text.matchAll(pattern)) found.add(which(m));
      return found;
    },
    test: (text) => (pattern ? new RegExp(pattern.source).test(text) : false),
    size: values.length,
  };
}

/** Regular-expression sources matching a value and its encoded forms. */
function encodedPatterns(secret: string): string[] {
  const bytes = Buffer.from(secret, "utf8");
  const literal = [secret, jsonEscaped(secret)].map(escapeRegExp);
  const percent = [percentPattern(encodeURIComponent(secret)), percentPattern(formEncoded(secret))];
  const hex = [bytes.toString("hex"), bytes.toString("hex").toUpperCase()];
  const base64 = [0, 1, 2].flatMap((offset) => {
    const core = alignedBase64(bytes, offset);
    return core.length < MIN_FRAGMENT_LENGTH ? [] : [core, toBase64Url(core)];
  });
  return [...literal, ...percent, ...hex, ...base64.map(escapeRegExp)].filter((p) => p.length > 0);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}

/** The secret inside a JSON string literal, without the quotes. */
function jsonEscaped(secret: string): string {
  return JSON.stringify(secret).slice(1, -1);
}

/** application/x-www-form-urlencoded: spaces as "+". */
function formEncoded(secret: string): string {
  return encodeURIComponent(secret).replace(/%20/g, "+");
}

/** A percent-encoded text with its escapes in either case (%2f or %2F). */
function percentPattern(encoded: string): string {
  return encoded
    .split(/(%[0-9A-F]{2})/)
    .map((part) =>
      /^%[0-9A-F]{2}$/.test(part)
        ? `%${[...part.slice(1)].map((c) => (/[A-F]/.test(c) ? `[${c}${c.toLowerCase()}]` : c)).join("")}`
        : escapeRegExp(part),
    )
    .join("");
}

/**
 * The base64 characters that depend on the secret alone when it starts `offset` bytes into a
 * 3-byte group of a longer encoded text: the characters at either end that mix in neighbouring
 * bytes are dropped, so the fragment appears in any base64 text that holds the secret there.
 */
function alignedBase64(bytes: Buffer, offset: number): string {
  const padded = Buffer.concat([Buffer.alloc(offset), bytes, Buffer.alloc(3)]);
  const encoded = padded.toString("base64");
  const firstBit = offset * 8;
  const endBit = (offset + bytes.length) * 8;
  const first = Math.ceil(firstBit / 6);
  const end = Math.floor(endBit / 6);
  return end > first ? encoded.slice(first, end) : "";
}

function toBase64Url(base64: string): string {
  return base64.replace(/\+/g, "-").replace(/\//g, "_");
}
