import type { JsonValue } from "../json.js";

/** Rows looked at to infer a shape: enough to be right, bounded in time. */
const SHAPE_ROWS = 2000;
/** Rows statistics are computed over (all of them, up to this). */
const STATS_ROWS = 200_000;
/** A string field with at most this many distinct values is shown as a union of them. */
const MAX_LITERALS = 6;
/** A string field with at most this many distinct values gets counts per value. */
const MAX_CATEGORIES = 20;
const MAX_DEPTH = 3;

export interface ValueSummary {
  /** "3,000 rows", "42 keys", "1,204 lines". */
  counts: string;
  bytes: number;
  /** A TypeScript-like type: `{ id: number; status: "open" | "closed" }[]`. */
  shape: string;
  /** "amount: min 1, max 980, mean 310.4 · status: open 1,820, closed 1,180". */
  stats: string;
  /** The first items (or lines), most fitting first: callers cut it to their budget. */
  sample: string[];
  /** For text: the last lines. */
  tail?: string[];
}

/**
 * What a large value is, without all of it: counts, an inferred shape, simple statistics of
 * numeric and categorical fields, and a sample. For text: line count, first and last lines.
 */
export function describeValue(value: JsonValue): ValueSummary {
  const bytes = Buffer.byteLength(typeof value === "string" ? value : JSON.stringify(value));
  if (typeof value === "string") {
    const lines = value.split("\n");
    return {
      counts: `${fmt(lines.length)} lines`,
      bytes,
      shape: "string",
      stats: "",
      sample: lines.slice(0, 20),
      tail: lines.length > 25 ? lines.slice(-5) : [],
    };
  }
  if (Array.isArray(value)) {
    const rows = value.slice(0, SHAPE_ROWS);
    return {
      counts: `${fmt(value.length)} rows`,
      bytes,
      shape: `${wrap(inferType(rows, 0))}[]`,
      stats: fieldStats(value.slice(0, STATS_ROWS)),
      sample: value.slice(0, 5).map((v) => JSON.stringify(v)),
    };
  }
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value);
    // A wrapper around one big member ({ content: "..." }, { items: [...] }): describe the member.
    const [key, member] = largestMember(entries);
    const big = typeof member === "string" || (member !== null && typeof member === "object");
    if (key !== undefined && big) {
      const memberBytes = Buffer.byteLength(
        typeof member === "string" ? member : JSON.stringify(member),
      );
      if (memberBytes > bytes * 0.8) {
        const inner = describeValue(member);
        return {
          ...inner,
          counts: `${JSON.stringify(key)}: ${inner.counts}`,
          bytes,
          shape: inferType([value], 0),
        };
      }
    }
    const arrays = entries
      .filter(([, v]) => Array.isArray(v))
      .map(([k, v]) => `${k}: ${fmt((v as JsonValue[]).length)} items`);
    return {
      counts: `${fmt(entries.length)} keys${arrays.length ? ` (${arrays.slice(0, 5).join(", ")})` : ""}`,
      bytes,
      shape: inferType([value], 0),
      stats: entries
        .filter(([, v]) => Array.isArray(v) && (v as JsonValue[]).length > 0)
        .slice(0, 3)
        .map(([k, v]) => {
          const s = fieldStats((v as JsonValue[]).slice(0, STATS_ROWS));
          return s ? `${k}: ${s}` : "";
        })
        .filter(Boolean)
        .join(" · "),
      sample: entries.slice(0, 10).map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`),
    };
  }
  return {
    counts: "1 value",
    bytes,
    shape: typeOf(value),
    stats: "",
    sample: [JSON.stringify(value)],
  };
}

/** The merged type of many values. */
function inferType(values: readonly JsonValue[], depth: number): string {
  const kinds = new Map<string, JsonValue[]>();
  for (const v of values) {
    const k = typeOf(v);
    const list = kinds.get(k) ?? [];
    list.push(v);
    kinds.set(k, list);
  }
  const parts: string[] = [];
  for (const [kind, list] of kinds) {
    if (kind === "object") parts.push(objectType(list as Record<string, JsonValue>[], depth));
    else if (kind === "array") {
      const items = (list as JsonValue[][]).flat().slice(0, SHAPE_ROWS);
      parts.push(items.length === 0 ? "unknown[]" : `${wrap(inferType(items, depth + 1))}[]`);
    } else if (kind === "string") parts.push(stringType(list as string[], values.length));
    else parts.push(kind);
  }
  return parts.join(" | ") || "unknown";
}

function objectType(rows: Record<string, JsonValue>[], depth: number): string {
  if (depth >= MAX_DEPTH) return "object";
  const keys = new Map<string, JsonValue[]>();
  for (const row of rows) {
    for (const [k, v] of Object.entries(row)) {
      const list = keys.get(k) ?? [];
      list.push(v);
      keys.set(k, list);
    }
  }
  const fields = [...keys].slice(0, 40).map(([k, vs]) => {
    const optional = vs.length < rows.length ? "?" : "";
    const name = /^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k);
    return `${name}${optional}: ${inferType(vs, depth + 1)}`;
  });
  const more = keys.size > 40 ? `; … ${keys.size - 40} more` : "";
  return `{ ${fields.join("; ")}${more} }`;
}

function stringType(values: string[], rows: number): string {
  const distinct = new Set(values);
  if (rows >= 10 && distinct.size <= MAX_LITERALS && [...distinct].every((s) => s.length <= 40))
    return [...distinct].map((s) => JSON.stringify(s)).join(" | ");
  return "string";
}

/** Statistics of the numeric and categorical fields of rows (objects, or plain values). */
function fieldStats(rows: readonly JsonValue[]): string {
  const columns = new Map<string, JsonValue[]>();
  for (const row of rows) {
    if (row !== null && typeof row === "object" && !Array.isArray(row)) {
      for (const [k, v] of Object.entries(row)) {
        const list = columns.get(k) ?? [];
        list.push(v);
        columns.set(k, list);
      }
    } else {
      const list = columns.get("") ?? [];
      list.push(row);
      columns.set("", list);
    }
  }
  const out: string[] = [];
  for (const [name, values] of columns) {
    const label = name ? `${name}: ` : "";
    const numbers = values.filter((v): v is number => typeof v === "number");
    if (numbers.length > 0 && numbers.length === values.length) {
      let min = Number.POSITIVE_INFINITY;
      let max = Number.NEGATIVE_INFINITY;
      let sum = 0;
      for (const n of numbers) {
        if (n < min) min = n;
        if (n > max) max = n;
        sum += n;
      }
      out.push(`${label}min ${num(min)}, max ${num(max)}, mean ${num(sum / numbers.length)}`);
      continue;
    }
    const strings = values.filter((v): v is string => typeof v === "string");
    if (strings.length === values.length && strings.length > 0) {
      const counts = new Map<string, number>();
      for (const s of strings) counts.set(s, (counts.get(s) ?? 0) + 1);
      if (counts.size <= MAX_CATEGORIES && counts.size < strings.length) {
        const top = [...counts].sort((a, b) => b[1] - a[1]).slice(0, 5);
        out.push(
          `${label}${top.map(([s, n]) => `${s.slice(0, 30)} ${fmt(n)}`).join(", ")}${counts.size > 5 ? `, … ${counts.size - 5} more` : ""}`,
        );
      }
    }
    if (out.length >= 8) break;
  }
  return out.join(" · ");
}

function typeOf(v: JsonValue): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

/** Parentheses around a union, so that `[]` applies to all of it. */
function wrap(type: string): string {
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < type.length; i++) {
    const c = type[i];
    if (c === '"' && type[i - 1] !== "\\") quoted = !quoted;
    else if (quoted) continue;
    else if (c === "{" || c === "(" || c === "[") depth++;
    else if (c === "}" || c === ")" || c === "]") depth--;
    else if (c === "|" && depth === 0) return `(${type})`;
  }
  return type;
}

function fmt(n: number): string {
  return n.toLocaleString("en-US");
}

function num(n: number): string {
  return Number.isInteger(n) ? fmt(n) : String(Math.round(n * 100) / 100);
}

function largestMember(entries: [string, JsonValue][]): [string | undefined, JsonValue] {
  let best: [string | undefined, JsonValue] = [undefined, null];
  let size = -1;
  for (const [k, v] of entries) {
    const n =
      typeof v === "string"
        ? v.length
        : v !== null && typeof v === "object"
          ? JSON.stringify(v).length
          : 0;
    if (n > size) {
      size = n;
      best = [k, v];
    }
  }
  return best;
}
