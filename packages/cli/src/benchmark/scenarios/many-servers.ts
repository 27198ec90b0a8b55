import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BenchmarkScenario } from "../scenario.js";
import { assert } from "./fixtures.js";

/** Scenario 4: four servers connected, two tools used. */
export const manyServers: BenchmarkScenario = {
  id: "many-servers",
  title: "4 servers connected, 2 tools used",
  description:
    "everything + filesystem + memory + Sentry's MCP server (started offline, for its tool definitions) are connected; the task reads one small note and records it in memory. Over plain MCP every tool definition is in context.",
  small: false,
  async prepare(context) {
    const note = join(context.workDir, "note.txt");
    writeFileSync(note, "Deploy 2026.11.25 rolled back: ledger timeouts above 2 s.\n");
    const memoryFile = join(context.workDir, "memory.jsonl");
    const fs = context.serverCommand("@modelcontextprotocol/server-filesystem");
    const servers: Record<string, unknown> = {
      everything: {
        ...context.serverCommand("@modelcontextprotocol/server-everything"),
        args: [...context.serverCommand("@modelcontextprotocol/server-everything").args, "stdio"],
      },
      files: { ...fs, args: [...fs.args, context.workDir] },
      memory: {
        ...context.serverCommand("@modelcontextprotocol/server-memory"),
        env: { MEMORY_FILE_PATH: memoryFile },
      },
    };
    try {
      const sentry = context.serverCommand("@sentry/mcp-server");
      // No Sentry is reached: listing tools needs no request to the host.
      servers.sentry = {
        ...sentry,
        args: [...sentry.args, "--access-token=benchmark", "--host=127.0.0.1:1", "--insecure-http"],
      };
    } catch {
      context.progress(
        "many-servers: @sentry/mcp-server is not installed; running with three servers",
      );
    }
    return {
      mcpServers: servers,
      program: `const note = await files.read_text_file({ path: ${JSON.stringify(note)} });
await memory.create_entities({ entities: [{ name: "deploy-2026.11.25", entityType: "incident", observations: [note.content.trim()] }] });
return "recorded";`,
      async plain(client) {
        const read = await client.call("files", "read_text_file", { path: note });
        await client.call("memory", "create_entities", {
          entities: [
            {
              name: "deploy-2026.11.25",
              entityType: "incident",
              observations: [client.text(read).trim()],
            },
          ],
        });
      },
      verify(value) {
        assert(value === "recorded", "the program did not finish");
        assert(
          readFileSync(memoryFile, "utf8").includes("ledger timeouts"),
          "the note is not in memory",
        );
      },
    };
  },
};
