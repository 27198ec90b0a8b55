import type { ToolCallResult } from "@mcp-optimizer/core";

/** Deterministic pseudo-random numbers (fixtures are the same on every run). */
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1_664_525 + 1_013_904_223) >>> 0;
    return s / 2 ** 32;
  };
}

const WORDS =
  "the service request latency ledger payment retry timeout customer invoice region cache shard replica deploy rollback metric alert budget quota token session upstream sandbox gateway schema release incident review".split(
    " ",
  );

/** A markdown document of about `bytes` bytes: headings, paragraphs, tables. */
export function markdownDocument(bytes: number, seed = 7): string {
  const rnd = seeded(seed);
  const word = () => WORDS[Math.floor(rnd() * WORDS.length)]!;
  const parts: string[] = ["# Quarterly operations review\n"];
  let size = parts[0]!.length;
  let section = 1;
  while (size < bytes) {
    const block =
      section % 5 === 0
        ? `\n| metric | value | change |\n| --- | --- | --- |\n${Array.from({ length: 6 }, () => `| ${word()} ${word()} | ${Math.floor(rnd() * 10_000)} | ${(rnd() * 20 - 10).toFixed(1)}% |`).join("\n")}\n`
        : `\n## ${section}. ${word()} ${word()}\n\n${Array.from({ length: 60 }, word).join(" ")}.\n`;
    parts.push(block);
    size += block.length;
    section++;
  }
  return parts.join("").slice(0, bytes);
}

/** The text blocks of a result, joined (what a model reads). */
export function resultText(result: ToolCallResult): string {
  return (result.content ?? [])
    .filter((b) => b.type === "text" && typeof b.text === "string")
    .map((b) => b.text as string)
    .join("\n");
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}
