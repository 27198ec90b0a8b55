import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { freePort } from "../../src/testing/free-port.js";

const require = createRequire(import.meta.url);

function bin(pkg: string): string {
  return join(dirname(require.resolve(`${pkg}/package.json`)), "dist", "index.js");
}

/** The reference "everything" server over stdio. */
export function everythingServer(env: Record<string, string> = {}) {
  return {
    command: process.execPath,
    args: [bin("@modelcontextprotocol/server-everything"), "stdio"],
    env,
  };
}

/** The filesystem server, allowed to touch one folder. */
export function filesystemServer(dir: string) {
  return { command: process.execPath, args: [bin("@modelcontextprotocol/server-filesystem"), dir] };
}

/** The knowledge-graph memory server, persisting to one file. */
export function memoryServer(file: string) {
  return {
    command: process.execPath,
    args: [bin("@modelcontextprotocol/server-memory")],
    env: { MEMORY_FILE_PATH: file },
  };
}

/** Starts server-everything over Streamable HTTP on a free port. */
export async function startEverythingHttp(): Promise<{
  url: string;
  child: ChildProcess;
  close(): Promise<void>;
}> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [bin("@modelcontextprotocol/server-everything"), "streamableHttp"],
    {
      env: { PATH: process.env.PATH ?? "", PORT: String(port) },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  await new Promise<void>((resolve, reject) => {
    let output = "";
    const timer = setTimeout(
      () => reject(new Error(`server-everything did not start: ${output}`)),
      20_000,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/listening on port/i.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) =>
      reject(new Error(`server-everything exited with ${code}: ${output}`)),
    );
  });
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    child,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGKILL");
      }),
  };
}

export { freePort };
