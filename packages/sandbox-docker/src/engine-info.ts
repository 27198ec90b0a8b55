import { ErrorCodes, OptimizerError } from "@mcp-optimizer/core";
import type Docker from "dockerode";
import { engineUnavailable } from "./docker-client.js";

/** What the sandbox needs to know about the engine (from `docker info` and `docker version`). */
export interface EngineInfo {
  serverVersion: string;
  apiVersion: string;
  os: string;
  architecture: string;
  /** OCI runtimes registered in the engine. */
  runtimes: string[];
  defaultRuntime: string;
  cgroupVersion: string;
  /** Security options the engine reports (seccomp, apparmor, rootless, ...). */
  securityOptions: string[];
}

export async function engineInfo(docker: Docker, endpoint: string): Promise<EngineInfo> {
  try {
    const [info, version] = await Promise.all([docker.info(), docker.version()]);
    return {
      serverVersion: String(info.ServerVersion ?? version.Version ?? "unknown"),
      apiVersion: String(version.ApiVersion ?? "unknown"),
      os: String(info.OSType ?? "unknown"),
      architecture: String(info.Architecture ?? "unknown"),
      runtimes: Object.keys(info.Runtimes ?? {}).sort(),
      defaultRuntime: String(info.DefaultRuntime ?? "runc"),
      cgroupVersion: String(info.CgroupVersion ?? "unknown"),
      securityOptions: Array.isArray(info.SecurityOptions) ? info.SecurityOptions.map(String) : [],
    };
  } catch (error) {
    throw engineUnavailable(error, endpoint, "reading the engine's info");
  }
}

/** Refuses a runtime the engine does not have, saying which it has and how to add runsc. */
export function checkRuntime(
  info: EngineInfo,
  runtime: string | undefined,
  endpoint: string,
): void {
  if (runtime === undefined || info.runtimes.includes(runtime)) return;
  const gvisor =
    runtime === "runsc"
      ? ' gVisor is not installed there: install runsc and register it ("runtimes": {"runsc": {"path": "/usr/local/bin/runsc"}} in /etc/docker/daemon.json, then reload dockerd); see docs/guides/gvisor.md.'
      : ` Register it in the engine ("runtimes" in /etc/docker/daemon.json, or dockerd --add-runtime ${runtime}=/path/to/${runtime}).`;
  throw new OptimizerError(
    ErrorCodes.SANDBOX_UNAVAILABLE,
    `The Docker engine at ${endpoint} has no OCI runtime "${runtime}" (it has: ${info.runtimes.join(", ") || "none"}).${gvisor}`,
    { details: { runtime, runtimes: info.runtimes, endpoint } },
  );
}
