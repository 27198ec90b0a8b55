/**
 * The o200k tokenizer on 1 MiB of English, JSON, one repeated character and random bytes:
 * time per MiB (sync `count`), the longest event-loop stall of `countAsync`, and the library
 * called directly on the repeated character for comparison (quadratic: measured on a small
 * sample). Prints figures; asserts nothing. Needs `pnpm build` first.
 *
 *   node bench/tokenizer.ts
 */
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { countTokens } from "gpt-tokenizer/encoding/o200k_base";
import { createO200kTokenizer } from "../dist/index.js";

const MIB = 1 << 20;
const QUICK = process.env.BENCH_QUICK === "1";
const REPEATS = QUICK ? 1 : 3;

function english(): string {
  const docs = join(import.meta.dirname, "..", "..", "..", "docs");
  const text = readdirSync(docs)
    .filter((f) => f.endsWith(".md"))
    .map((f) => readFileSync(join(docs, f), "utf8"))
    .join("\n\n");
  return text.repeat(Math.ceil(MIB / text.length)).slice(0, MIB);
}

function json(): string {
  const rows = Array.from({ length: 12_000 }, (_, i) => ({
    id: i,
    title: `Issue ${i}: the upstream returned an unexpected status`,
    labels: ["bug", i % 3 ? "p2" : "p1"],
    createdAt: new Date(1_700_000_000_000 + i * 60_000).toISOString(),
    score: (i * 7.31) % 100,
  }));
  return JSON.stringify(rows).slice(0, MIB);
}

const inputs: Record<string, string> = {
  "English (docs/*.md)": english(),
  JSON: json(),
  "one repeated character ('a')": "a".repeat(MIB),
  "random bytes (as Latin-1 text)": randomBytes(MIB).toString("latin1"),
};

const ordinary = { disallowedSpecial: new Set<string>() };
const tokenizer = await createO200kTokenizer();
tokenizer.count("warm up");
// The first large countAsync starts the worker thread (it loads its own tables, ~0.4 s).
let started = performance.now();
await tokenizer.countAsync!("warm up the worker ".repeat(10_000));
console.log(`worker thread started and answered in ${(performance.now() - started).toFixed(0)} ms`);

const rows: Record<string, Record<string, string>> = {};
for (const [name, text] of Object.entries(inputs)) {
  let best = Number.POSITIVE_INFINITY;
  let tokens = 0;
  for (let i = 0; i < REPEATS; i++) {
    const started = performance.now();
    tokens = tokenizer.count(text);
    best = Math.min(best, performance.now() - started);
  }
  // countAsync on a fresh copy of the text, with the event loop's delay watched meanwhile.
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  started = performance.now();
  const asyncTokens = await tokenizer.countAsync!(`${text} `);
  const asyncMs = performance.now() - started;
  delay.disable();
  rows[name] = {
    tokens: tokens.toLocaleString("en-US"),
    "ms per MiB (count)": best.toFixed(0),
    "ms (countAsync)": asyncMs.toFixed(0),
    "longest stall (countAsync)": `${(delay.max / 1e6).toFixed(1)} ms`,
    "same count async": String(asyncTokens - tokenizer.count(" ") <= tokens + 1),
  };
}
console.table(rows);
console.log(
  `"longest stall" is the event loop's longest delay while countAsync ran (texts over 64 KiB go to the worker); load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")} on this machine.`,
);

// The library alone on one repeated character: quadratic, so only small samples.
const direct: Record<string, Record<string, string>> = {};
for (const size of [8 * 1024, 16 * 1024, 32 * 1024]) {
  const text = "a".repeat(size);
  started = performance.now();
  countTokens(text, ordinary);
  const libraryMs = performance.now() - started;
  const started2 = performance.now();
  tokenizer.count(`${text}b`); // another text: no cached chunk from the library call
  const oursMs = performance.now() - started2;
  direct[`${size / 1024} KiB of 'a'`] = {
    "gpt-tokenizer countTokens": `${libraryMs.toFixed(1)} ms`,
    "createO200kTokenizer().count": `${oursMs.toFixed(1)} ms`,
  };
}
console.table(direct);
console.log(
  "The library's time grows with the square of a run's length (x4 per doubling); the bounded count grows linearly.",
);
