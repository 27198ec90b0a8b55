import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  ErrorCodes,
  type GuestRequest,
  type JsonValue,
  OptimizerError,
  type SandboxHost,
  type SandboxJob,
  type SandboxLimits,
} from "@mcp-optimizer/core";

export const limits: SandboxLimits = {
  timeoutMs: 5_000,
  maxMemoryMb: 64,
  maxOutputBytes: 1024 * 1024,
  maxLogBytes: 16 * 1024,
};

let n = 0;
export function job(code: string, extra: Partial<SandboxLimits> = {}): SandboxJob {
  return {
    id: `job-${++n}`,
    code,
    servers: [{ name: "demo-server", global: "demo", tools: ["echo", "never"] }],
    state: {},
    limits: { ...limits, ...extra },
  };
}

export const calls: GuestRequest[] = [];
export const host: SandboxHost = {
  async call(request) {
    calls.push(request);
    if (request.kind === "tool" && request.tool === "echo") return request.args as JsonValue;
    if (request.kind === "tool" && request.tool === "never") return new Promise<never>(() => {});
    throw new OptimizerError(ErrorCodes.TOOL_NOT_FOUND, "no such tool");
  },
};

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Compiles the misbehaving test guest (fixtures/hostile-runner.c) with the same toolchain
 * as the engine. A missing toolchain is a failure with the fix, never a skip.
 */
export function hostileWasm(): string {
  const out = join(here, "..", ".cache", "hostile-runner.wasm");
  const source = join(here, "fixtures", "hostile-runner.c");
  if (existsSync(out) && statSync(out).mtimeMs >= statSync(source).mtimeMs) return out;
  mkdirSync(dirname(out), { recursive: true });
  try {
    execFileSync("clang", ["--target=wasm32-wasi", "--sysroot=/usr", "-O2", "-o", out, source], {
      stdio: "pipe",
    });
  } catch (error) {
    throw new Error(
      `Cannot compile the hostile test guest: ${(error as Error).message}. Install clang lld wasi-libc libclang-rt-14-dev-wasm32 (.ci/setup/40-wasm-toolchain.sh).`,
    );
  }
  return out;
}

/** CPU time (user + system, clock ticks) a process has used; 0 once it is gone. */
export function cpuTicks(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** Resident memory of a process in bytes; 0 once it is gone. */
export function rssBytes(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[1]) * 4096;
  } catch {
    return 0;
  }
}
