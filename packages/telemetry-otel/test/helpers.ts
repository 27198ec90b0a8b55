import { createRequire } from "node:module";
import { dirname, join } from "node:path";

export { freePort } from "@mcp-optimizer/core/testing";

const require = createRequire(import.meta.url);

/** The reference "everything" MCP server over stdio, as core's tests start it. */
export function everythingServer(env: Record<string, string> = {}) {
  const pkg = require.resolve("@modelcontextprotocol/server-everything/package.json");
  return {
    command: process.execPath,
    args: [join(dirname(pkg), "dist", "index.js"), "stdio"],
    env,
  };
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text format into samples (enough for the exporter's output). */
export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const m of (match[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[m[1]!] = m[2]!.replace(/\\"/g, '"').replace(/\\n/g, "\n").replace(/\\\\/g, "\\");
    }
    const raw = match[3]!;
    samples.push({ name: match[1]!, labels, value: raw === "+Inf" ? Infinity : Number(raw) });
  }
  return samples;
}

/** Sum of the samples of one series name whose labels include `labels`. */
export function total(
  samples: Sample[],
  name: string,
  labels: Record<string, string> = {},
): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

export function series(samples: Sample[], name: string): Sample[] {
  return samples.filter((s) => s.name === name);
}

export async function waitFor(
  check: () => boolean,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
