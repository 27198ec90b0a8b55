import type { ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { exited, exitOf, spawn, track } from "./processes.js";

export const GATEWAY_BIN = fileURLToPath(new URL("../../dist/bin.js", import.meta.url));

export interface GatewayProcess {
  url: string;
  pid: number;
  child: ChildProcess;
  /** stderr so far. */
  readonly log: string;
  /** Sends the signal and resolves with how the process ended. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: string | null }>;
}

/** A gateway replica as its own process (the built bin), on the given config; resolves once it listens. */
export async function startGatewayProcess(options: {
  configFile: string;
  config: unknown;
  env?: Record<string, string>;
}): Promise<GatewayProcess> {
  writeFileSync(options.configFile, JSON.stringify(options.config, null, 2));
  const child = track(
    spawn(process.execPath, [GATEWAY_BIN, "--config", options.configFile], {
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
  let log = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    log = (log + chunk.toString("utf8")).slice(-20_000);
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(
      () => reject(new Error(`the gateway did not start in 60 s: ${log}`)),
      60_000,
    );
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { listening: string }).listening);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the gateway exited (${code}) before listening: ${log}`));
    });
  });
  return {
    url,
    pid: child.pid!,
    child,
    get log() {
      return log;
    },
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (exited(child)) return { code: child.exitCode, signal: child.signalCode };
      const gone = exitOf(child);
      child.kill(signal);
      return gone;
    },
  };
}
