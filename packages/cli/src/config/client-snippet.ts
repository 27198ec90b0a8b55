import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** How an MCP client starts `mcp-optimizer serve`: one entry of its `mcpServers`. */
export interface ServeEntry {
  command: string;
  args: string[];
  /** "npx" when this CLI itself runs from npx's cache (the published package), else "path". */
  form: "npx" | "path";
  /** One line saying when this form is the one to use. */
  why: string;
}

/** The CLI's own entry point, symlinks resolved. */
export function cliBinPath(): string {
  const bin = fileURLToPath(new URL("../bin.js", import.meta.url));
  try {
    return realpathSync(bin);
  } catch {
    return bin;
  }
}

/**
 * The client entry that starts this very CLI. Run through npx (the published package), the
 * npx form; otherwise (a checkout, a global or project install, a packed tarball) the absolute
 * Node and bin paths, which work whatever directory and PATH the client starts it with.
 */
export function serveEntry(configFile: string, binPath: string = cliBinPath()): ServeEntry {
  if (/[\\/]_npx[\\/]/.test(binPath)) {
    return {
      command: "npx",
      args: ["-y", "@mcp-optimizer/cli", "serve", "--config", configFile],
      form: "npx",
      why: "this CLI runs from npx, so the client can fetch it the same way",
    };
  }
  return {
    command: process.execPath,
    args: [binPath, "serve", "--config", configFile],
    form: "path",
    why: `this CLI runs from ${binPath} (a checkout or a local install): the client starts that file with this Node.js, so neither npm nor the client's PATH matters. Once @mcp-optimizer/cli is published on npm, "command": "npx", "args": ["-y", "@mcp-optimizer/cli", "serve", "--config", ...] works without it`,
  };
}
