import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export { freePort } from "@mcp-optimizer/core/testing";

/** The built bin: tests run the real command, as a user would. */
export const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
if (!existsSync(BIN)) {
  throw new Error(
    `${BIN} is missing: build the CLI first (pnpm --filter @mcp-optimizer/cli build).`,
  );
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Written to stdin, which is then closed. */
  input?: string;
  timeoutMs?: number;
}

/** An environment without the developer's MCPO_CONFIG leaking in. */
function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, MCPO_CONFIG: undefined, ...extra };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  return env;
}

/** Runs `mcp-optimizer ...args` to completion. */
export function cli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? process.cwd(),
      env: childEnv(options.env),
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`mcp-optimizer ${args.join(" ")} timed out\n${stderr}`));
    }, options.timeoutMs ?? 90_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? "");
  });
}

/** Starts a long-running command (serve --http) and resolves with its first stdout line. */
export function startCli(
  args: string[],
  options: CliOptions = {},
): Promise<{ child: ChildProcess; firstLine: string; stderr: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? process.cwd(),
      env: childEnv(options.env),
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stderr!.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(
      () => reject(new Error(`no output from ${args.join(" ")}\n${stderr}`)),
      options.timeoutMs ?? 60_000,
    );
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
      const nl = stdout.indexOf("\n");
      if (nl >= 0) {
        clearTimeout(timer);
        resolve({ child, firstLine: stdout.slice(0, nl), stderr: () => stderr });
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before printing\n${stderr}`));
    });
  });
}

/** Resolves with the exit code of a child (after a signal, for instance). */
export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

const require = createRequire(import.meta.url);

/** Path of an MCP server package's entry (servers are the CLI's dependencies). */
export function serverBin(pkg: string): string {
  return join(dirname(require.resolve(`${pkg}/package.json`)), "dist", "index.js");
}

export function tempDir(prefix = "mcpo-cli-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A config with the filesystem and memory servers, in process mode (fast, no plug-ins). */
export function writeServersConfig(dir: string, extra: Record<string, unknown> = {}): string {
  const file = join(dir, "mcp-optimizer.config.json");
  writeFileSync(
    file,
    JSON.stringify(
      {
        mcpServers: {
          files: {
            command: process.execPath,
            args: [serverBin("@modelcontextprotocol/server-filesystem"), dir],
          },
          memory: {
            command: process.execPath,
            args: [serverBin("@modelcontextprotocol/server-memory")],
            env: { MEMORY_FILE_PATH: join(dir, "memory.jsonl") },
          },
        },
        sandbox: { mode: "process" },
        ...extra,
      },
      null,
      2,
    ),
  );
  return file;
}

/**
 * Environment for a child in which importing `pkg` fails (a module hook loaded through
 * NODE_OPTIONS), as it would where the package is broken or cannot load on this platform.
 */
export function blockedPackageEnv(pkg: string): Record<string, string> {
  const hook = join(tempDir("mcpo-hook-"), "block.mjs");
  writeFileSync(
    hook,
    `import { registerHooks } from "node:module";
registerHooks({
  resolve(specifier, context, next) {
    if (specifier === ${JSON.stringify(pkg)}) throw new Error("${pkg} blocked by the test");
    return next(specifier, context);
  },
});
`,
  );
  return { NODE_OPTIONS: `--import=${pathToFileURL(hook).href}` };
}
