import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);

function bin(pkg: string): string {
  return join(dirname(require.resolve(`${pkg}/package.json`)), "dist", "index.js");
}

/** The reference "everything" server over stdio, as a config entry. */
export function everythingServer(env: Record<string, string> = {}) {
  return {
    command: process.execPath,
    args: [bin("@modelcontextprotocol/server-everything"), "stdio"],
    env,
  };
}

/** The knowledge-graph memory server over stdio, persisting to one file. */
export function memoryServer(file: string) {
  return {
    command: process.execPath,
    args: [bin("@modelcontextprotocol/server-memory")],
    env: { MEMORY_FILE_PATH: file },
  };
}
