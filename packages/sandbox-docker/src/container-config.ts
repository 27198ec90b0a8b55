import type Docker from "dockerode";
import { type DockerSandboxSettings, memoryLimitFor } from "./docker-sandbox-options.js";

const MIB = 1024 * 1024;

/**
 * The create request of one runner container: the guest program under Node, stdin open for
 * the bridge, and every hardening setting. Pure, so tests can read what the engine is asked.
 */
export function containerConfig(
  settings: DockerSandboxSettings,
  heapMb: number,
  program: string,
  labels: Record<string, string>,
): Docker.ContainerCreateOptions {
  const memoryBytes = memoryLimitFor(settings, heapMb) * MIB;
  const tmpfsFlags = [
    "rw",
    settings.workspaceExec ? "exec" : "noexec",
    "nosuid",
    "nodev",
    `size=${settings.workspaceMb}m`,
    "mode=1777",
  ].join(",");
  return {
    Image: settings.image,
    Entrypoint: [settings.nodePath],
    Cmd: [
      `--max-old-space-size=${heapMb}`,
      "--max-semi-space-size=4",
      "--stack-size=984",
      "--no-warnings",
      "--experimental-vm-modules",
      "--unhandled-rejections=warn",
      "-e",
      program,
    ],
    User: settings.user,
    WorkingDir: settings.workspacePath,
    Hostname: "sandbox",
    // Nothing from the host's environment: only what the image sets.
    Env: [],
    Labels: labels,
    // stdin stays open for the bridge; when the host's attach goes away (shutdown or crash),
    // the engine closes it, the runner sees EOF and exits, and AutoRemove deletes it.
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: true,
    StdinOnce: true,
    Tty: false,
    NetworkDisabled: settings.network === "none",
    HostConfig: {
      AutoRemove: true,
      NetworkMode: settings.network,
      ReadonlyRootfs: settings.readOnlyRootfs,
      Tmpfs: { [settings.workspacePath]: tmpfsFlags },
      CapDrop: settings.capDrop,
      CapAdd: settings.capAdd,
      SecurityOpt: [
        ...(settings.noNewPrivileges ? ["no-new-privileges"] : []),
        ...settings.securityOpt,
      ],
      PidsLimit: settings.pidsLimit,
      Memory: memoryBytes,
      MemorySwap: memoryBytes,
      NanoCpus: Math.round(settings.cpus * 1e9),
      // The bridge is the only output that matters; a flood must not fill the engine's disk.
      LogConfig: { Type: "none", Config: {} },
      ...(settings.runtime ? { Runtime: settings.runtime } : {}),
    },
  };
}
