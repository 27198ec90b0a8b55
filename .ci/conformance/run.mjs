#!/usr/bin/env node
// Runs the MCP conformance suite (@modelcontextprotocol/conformance, pinned in the root
// package.json, from the npm registry) against `mcp-optimizer serve --http`, at both wire
// revisions the server speaks, and holds the result to what is checked in here:
//   expected-failures.<revision>.yml  the checks expected to fail (the suite's own baseline: a
//                                     new failure fails, and so does a listed check that passes)
//   expected-pass.<revision>.txt      the scenarios expected to pass in full (a scenario that
//                                     stops passing, or starts, fails until the list says so)
// docs/conformance.md explains each expected failure. Needs the CLI built (pnpm build).
// Usage: node .ci/conformance/run.mjs [--update]   (--update rewrites both lists from this run)
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, "../..");
const BIN = join(REPO, "packages/cli/dist/bin.js");
const CONFORMANCE = join(REPO, "node_modules/.bin/conformance");
const REVISIONS = ["2025-11-25", "2026-07-28"];
const update = process.argv.includes("--update");
/** Check statuses the suite holds against a baseline (a WARNING, a SHOULD not met, counts). */
const BAD = new Set(["FAILURE", "WARNING"]);

/** Starts `serve --http` on a free loopback port; resolves with its URL and process. */
function startServer(config) {
  return new Promise((resolveStart, reject) => {
    const child = spawn(
      process.execPath,
      [BIN, "serve", "--http", "127.0.0.1:0", "--config", config],
      {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, MCPO_CONFIG: "" },
      },
    );
    let out = "";
    let err = "";
    const timer = setTimeout(
      () => reject(new Error(`serve did not start in 60 s:\n${err}`)),
      60_000,
    );
    child.stderr.on("data", (d) => {
      err += d;
    });
    child.stdout.on("data", (d) => {
      out += d;
      const line = out.split("\n")[0];
      if (out.includes("\n")) {
        clearTimeout(timer);
        resolveStart({ url: line.trim(), child });
      }
    });
    child.on("exit", (code) => reject(new Error(`serve exited with ${code}:\n${err}`)));
  });
}

/** Scenario -> its checks, from the suite's output folder (server-<scenario>-<time>/checks.json). */
function readResults(dir) {
  const results = new Map();
  for (const entry of readdirSync(dir)) {
    const match = /^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/.exec(entry);
    if (!match) continue;
    results.set(match[1], JSON.parse(readFileSync(join(dir, entry, "checks.json"), "utf8")));
  }
  return results;
}

function listFile(revision) {
  return join(HERE, `expected-pass.${revision}.txt`);
}

function readList(file) {
  return readFileSync(file, "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
}

const work = mkdtempSync(join(tmpdir(), "mcpo-conformance-"));
const config = join(work, "config.json");
writeFileSync(config, JSON.stringify({ mcpServers: {}, sandbox: { mode: "process" } }));
const problems = [];
const server = await startServer(config);
console.log(`serving ${server.url}`);
try {
  for (const revision of REVISIONS) {
    const out = join(work, revision);
    const baseline = join(HERE, `expected-failures.${revision}.yml`);
    console.log(`\n=== conformance ${revision} against ${server.url}`);
    let suiteFailed = false;
    try {
      const args = ["server", "--url", server.url, "--requirements", revision, "-o", out];
      if (!update) args.push("--expected-failures", baseline);
      const text = execFileSync(CONFORMANCE, args, {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      });
      console.log(text.slice(text.indexOf("=== SUMMARY ===")));
    } catch (error) {
      suiteFailed = true;
      const text = `${error.stdout ?? ""}${error.stderr ?? ""}`;
      console.log(text.slice(Math.max(0, text.indexOf("=== SUMMARY ==="))));
    }
    const results = readResults(out);
    const passing = [...results]
      .filter(([, checks]) => !checks.some((c) => BAD.has(c.status)))
      .map(([scenario]) => scenario)
      .sort();
    if (update) {
      const failing = [...results]
        .flatMap(([scenario, checks]) =>
          checks.filter((c) => BAD.has(c.status)).map((c) => `  - ${scenario}:${c.id}`),
        )
        .sort();
      const head = readFileSync(baseline, "utf8").split("\nserver:")[0];
      writeFileSync(baseline, `${head}\nserver:\n${failing.join("\n")}\n`);
      const listHead = readFileSync(listFile(revision), "utf8")
        .split("\n")
        .filter((l) => l.startsWith("#"))
        .join("\n");
      writeFileSync(listFile(revision), `${listHead}\n${passing.join("\n")}\n`);
      console.log(`updated ${baseline} and ${listFile(revision)}`);
      continue;
    }
    if (suiteFailed) problems.push(`${revision}: the suite's baseline check failed (see above).`);
    const expected = readList(listFile(revision)).sort();
    const lost = expected.filter((s) => !passing.includes(s));
    const gained = passing.filter((s) => !expected.includes(s));
    if (lost.length) problems.push(`${revision}: no longer passing: ${lost.join(", ")}.`);
    if (gained.length)
      problems.push(
        `${revision}: now passing, add to expected-pass.${revision}.txt: ${gained.join(", ")}.`,
      );
    console.log(
      `${revision}: ${passing.length} scenarios pass in full (${expected.length} expected)`,
    );
  }
} finally {
  server.child.kill("SIGTERM");
  rmSync(work, { recursive: true, force: true });
}
for (const p of problems) console.error(`::error:: conformance: ${p}`);
console.log(
  `\nconformance: ${problems.length === 0 ? "as expected" : `${problems.length} problem(s)`}`,
);
process.exit(problems.length === 0 ? 0 : 1);
