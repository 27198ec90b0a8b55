import type { ToolAnnotations } from "../contracts/upstream.js";
import { stem, words } from "./search-text.js";

/**
 * What a request wants done to the thing it names, and what a tool does to it. "Open an
 * issue" and "list issues" share their noun; the verb tells which tool is meant.
 */
export type Intent = "create" | "read" | "list" | "search" | "update" | "delete" | "run" | "send";

const VERBS: Record<Intent, string[]> = {
  create: [
    "create",
    "new",
    "make",
    "add",
    "insert",
    "open",
    "file",
    "log",
    "register",
    "spin",
    "generate",
    "write",
    "save",
    "record",
    "remember",
    "fork",
    "branch",
    "install",
    "upload",
    "append",
    "put",
  ],
  read: [
    "get",
    "read",
    "show",
    "view",
    "display",
    "fetch",
    "retrieve",
    "print",
    "pull",
    "describe",
    "inspect",
    "detail",
    "details",
    "open",
    "load",
    "cat",
    "download",
    "explain",
  ],
  list: ["list", "enumerate", "ls", "which", "all", "every", "browse", "index", "dump", "everyone"],
  search: [
    "search",
    "find",
    "look",
    "lookup",
    "locate",
    "query",
    "grep",
    "where",
    "filter",
    "match",
    "google",
  ],
  update: [
    "update",
    "change",
    "modify",
    "edit",
    "set",
    "rename",
    "patch",
    "replace",
    "rewrite",
    "move",
    "assign",
    "close",
    "resolve",
    "mark",
    "toggle",
    "switch",
    "bump",
    "scale",
    "upgrade",
    "merge",
    "approve",
  ],
  delete: [
    "delete",
    "remove",
    "drop",
    "erase",
    "destroy",
    "purge",
    "wipe",
    "forget",
    "uninstall",
    "rid",
    "clear",
    "cleanup",
    "kill",
    "terminate",
  ],
  run: [
    "run",
    "execute",
    "exec",
    "trigger",
    "start",
    "launch",
    "invoke",
    "rerun",
    "evaluate",
    "eval",
    "perform",
  ],
  send: [
    "send",
    "post",
    "publish",
    "notify",
    "announce",
    "reply",
    "respond",
    "tell",
    "message",
    "comment",
    "react",
    "share",
  ],
};

const BY_STEM = new Map<string, Intent[]>();
for (const [intent, verbs] of Object.entries(VERBS) as [Intent, string[]][]) {
  for (const v of verbs) {
    const s = stem(v);
    BY_STEM.set(s, [...(BY_STEM.get(s) ?? []), intent]);
  }
}

/** Intents read near each other: a read-style request is well served by a list or search tool. */
const RELATED: Record<Intent, Intent[]> = {
  create: ["send"],
  read: ["list", "search"],
  list: ["read", "search"],
  search: ["list", "read"],
  update: [],
  delete: [],
  run: [],
  send: ["create"],
};

/**
 * Words that open a question. A question asks to be told something ("what processes are
 * running", "did the build pass"): its verbs describe the thing, not what to do to it.
 */
const QUESTION_WORDS = new Set([
  "what",
  "which",
  "who",
  "whose",
  "where",
  "when",
  "why",
  "how",
  "any",
  "is",
  "are",
  "was",
  "were",
  "did",
  "does",
  "do",
  "has",
  "have",
]);
const QUESTION_INTENTS: Intent[] = ["read", "list", "search"];

/**
 * The intents of a request: a question reads; otherwise its leading verb's, the first of its
 * first six words that is one.
 */
export function queryIntents(query: string): Intent[] {
  const all = words(query);
  if (all.length > 0 && QUESTION_WORDS.has(all[0] as string)) return QUESTION_INTENTS;
  for (const w of all.slice(0, 6)) {
    const intents = BY_STEM.get(stem(w));
    if (intents) return intents;
  }
  return [];
}

/** What a tool does, from the verbs of its name, the first word of its description and its annotations. */
export function toolIntents(
  name: string,
  description: string | undefined,
  annotations: ToolAnnotations | undefined,
): Intent[] {
  const found = new Set<Intent>();
  for (const w of words(name)) for (const i of BY_STEM.get(stem(w)) ?? []) found.add(i);
  // The description's first verb ("Retrieve a page", "This tool lists ..."), within its first words.
  const verb = words(description ?? "")
    .slice(0, 5)
    .find((w) => BY_STEM.has(stem(w)));
  if (verb) for (const i of BY_STEM.get(stem(verb)) ?? []) found.add(i);
  if (annotations?.readOnlyHint === true) {
    found.delete("create");
    found.delete("update");
    found.delete("delete");
    if (found.size === 0) found.add("read");
  }
  if (
    annotations?.destructiveHint === true &&
    annotations.readOnlyHint !== true &&
    found.size === 0
  )
    found.add("delete");
  return [...found];
}

/**
 * How well a tool's intents fit a request's: 1 for the same intent, 0.5 for a related one,
 * 0 when either has none, -1 when they conflict (a request to create, a tool that deletes).
 */
export function intentFit(query: readonly Intent[], tool: readonly Intent[]): number {
  if (query.length === 0 || tool.length === 0) return 0;
  if (query.some((q) => tool.includes(q))) return 1;
  if (query.some((q) => RELATED[q].some((r) => tool.includes(r)))) return 0.5;
  return -1;
}
