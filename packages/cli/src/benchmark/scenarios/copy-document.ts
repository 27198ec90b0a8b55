import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BenchmarkScenario } from "../scenario.js";
import { assert, markdownDocument, resultText } from "./fixtures.js";

/** Scenario 1: read a 200 KB document with one tool and write it elsewhere with another. */
export const copyDocument: BenchmarkScenario = {
  id: "copy-document",
  title: "Copy a 200 KB document",
  description:
    "server-filesystem: read_text_file a 200 KB markdown report, write_file it to another folder. Over plain MCP the document passes through the model twice (result, then argument).",
  small: true,
  async prepare(context) {
    const bytes = context.quick ? 20_000 : 200_000;
    const source = join(context.workDir, "report.md");
    const target = join(context.workDir, "copy.md");
    const document = markdownDocument(bytes);
    writeFileSync(source, document);
    return {
      mcpServers: {
        files: {
          ...context.serverCommand("@modelcontextprotocol/server-filesystem"),
          args: [
            ...context.serverCommand("@modelcontextprotocol/server-filesystem").args,
            context.workDir,
          ],
        },
      },
      program: `const doc = await files.read_text_file({ path: ${JSON.stringify(source)} });
await files.write_file({ path: ${JSON.stringify(target)}, content: doc.content });
return { copied: doc.content.length, to: ${JSON.stringify(target)} };`,
      async plain(client) {
        const read = await client.call("files", "read_text_file", { path: source });
        await client.call("files", "write_file", { path: target, content: resultText(read) });
      },
      verify(value) {
        const copied = readFileSync(target, "utf8");
        assert(copied === document, "the copy differs from the source");
        assert(
          (value as { copied?: number }).copied === document.length,
          "the program reported a wrong length",
        );
      },
    };
  },
};
