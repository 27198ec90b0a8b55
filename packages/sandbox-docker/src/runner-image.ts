import { execFileSync } from "node:child_process";
import { realpathSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { Readable } from "node:stream";
import { ErrorCodes, OptimizerError } from "@mcp-optimizer/core";
import type Docker from "dockerode";
import {
  type DockerEndpoint,
  describeEndpoint,
  dockerClient,
  engineUnavailable,
  statusOf,
} from "./docker-client.js";
import { IMAGE_LABEL } from "./labels.js";
import { type TarEntry, tarStream } from "./tar-writer.js";

/** Where the runner image puts Node. */
export const RUNNER_NODE_PATH = "/usr/local/bin/node";

/** The uid:gid the runner runs as: `nobody`, which owns nothing in the image. */
export const RUNNER_USER = "65534:65534";

export interface BuildRunnerImageOptions {
  /** The Docker engine. Default: `DOCKER_HOST`, else the local socket. */
  docker?: string | DockerEndpoint;
  /** Name and tag of the image. Default: `defaultRunnerImage()`. */
  tag?: string;
  /** The Node binary (Linux, the engine's architecture) to put in the image. Default: this process's. */
  nodePath?: string;
  /** Build even when the tag exists. Default false. */
  force?: boolean;
}

export interface RunnerImage {
  /** Name and tag. */
  tag: string;
  /** The image id (sha256:...). */
  id: string;
  /** False when the tag existed and nothing was built. */
  built: boolean;
  /** Files in the image: Node and the libraries it links. */
  files: string[];
  /** Size of the image in bytes. */
  sizeBytes: number;
}

/** The default runner image: named after this process's Node version and architecture. */
export function defaultRunnerImage(): string {
  return `mcp-optimizer/sandbox-runner:node${process.versions.node}-${process.arch}`;
}

/**
 * Builds the runner image offline: a root filesystem with only this host's Node binary and
 * the shared libraries it links (as `ldd` lists them), imported as one layer. No shell, no
 * package manager, no registry. The binary must suit the engine (Linux, same architecture).
 */
export async function buildRunnerImage(
  options: BuildRunnerImageOptions = {},
): Promise<RunnerImage> {
  const docker = dockerClient(options.docker);
  const endpoint = describeEndpoint(options.docker);
  const tag = options.tag ?? defaultRunnerImage();
  if (!options.force) {
    const existing = await inspectImage(docker, tag, endpoint);
    if (existing)
      return { tag, id: existing.Id, built: false, files: [], sizeBytes: existing.Size };
  }
  await checkPlatform(docker, endpoint, options.nodePath);
  const nodePath = options.nodePath ?? process.execPath;
  const entries = rootfsEntries(nodePath);
  const [repo, version] = splitTag(tag);
  const libDirs = [
    ...new Set(
      entries
        .filter((e) => e.type === "file" && e.path !== RUNNER_NODE_PATH)
        .map((e) => dirname(e.path)),
    ),
  ];
  const nodeVersion = nodeVersionOf(nodePath);
  const changes = [
    `USER ${RUNNER_USER}`,
    "WORKDIR /tmp",
    `ENV LD_LIBRARY_PATH=${libDirs.join(":")}`,
    `ENTRYPOINT ["${RUNNER_NODE_PATH}"]`,
    `LABEL ${IMAGE_LABEL}=${nodeVersion}`,
  ];
  try {
    const stream = await docker.importImage(Readable.from(tarStream(entries)), {
      repo,
      tag: version,
      changes,
      message: `MCP Optimizer sandbox runner: node ${nodeVersion}`,
    });
    await followProgress(docker, stream);
  } catch (error) {
    throw engineUnavailable(error, endpoint, `importing the runner image ${tag}`);
  }
  const image = await inspectImage(docker, tag, endpoint);
  if (!image) {
    throw new OptimizerError(
      ErrorCodes.SANDBOX_UNAVAILABLE,
      `The engine at ${endpoint} accepted the runner image but has no ${tag}.`,
    );
  }
  return {
    tag,
    id: image.Id,
    built: true,
    files: entries.filter((e) => e.type === "file").map((e) => e.path),
    sizeBytes: image.Size,
  };
}

/** The image's inspect data, or undefined when the engine does not have it. */
export async function inspectImage(
  docker: Docker,
  tag: string,
  endpoint: string,
): Promise<Docker.ImageInspectInfo | undefined> {
  try {
    return await docker.getImage(tag).inspect();
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw engineUnavailable(error, endpoint, `looking up the image ${tag}`);
  }
}

function rootfsEntries(nodePath: string): TarEntry[] {
  const libs = linkedLibraries(nodePath);
  const files: TarEntry[] = [
    fileEntry(RUNNER_NODE_PATH, nodePath, 0o755),
    ...libs.map((lib) => fileEntry(lib, lib, 0o755)),
  ];
  const dirs = new Set<string>();
  for (const path of [
    "/etc/x",
    "/tmp/x",
    "/proc/x",
    "/sys/x",
    "/dev/x",
    ...files.map((f) => f.path),
  ]) {
    for (let d = dirname(path); d !== "/"; d = dirname(d)) dirs.add(d);
  }
  // Sorted, a parent comes before its children.
  const dirEntries: TarEntry[] = [...dirs]
    .sort()
    .map((d) => ({ type: "dir", path: d, mode: d === "/tmp" ? 0o1777 : 0o755 }));
  const text = (path: string, body: string): TarEntry => ({
    type: "data",
    path,
    mode: 0o644,
    data: Buffer.from(body),
  });
  return [
    ...dirEntries,
    text(
      "/etc/passwd",
      "root:x:0:0:root:/root:/nonexistent\nnobody:x:65534:65534:nobody:/nonexistent:/nonexistent\n",
    ),
    text("/etc/group", "root:x:0:\nnogroup:x:65534:\n"),
    ...files,
  ];
}

function fileEntry(path: string, source: string, mode: number): TarEntry {
  const real = realpathSync(source);
  return { type: "file", path, mode, source: real, size: statSync(real).size };
}

/** The shared libraries a binary links, by the paths the dynamic loader will look for. */
function linkedLibraries(binary: string): string[] {
  let out: string;
  try {
    out = execFileSync("ldd", [binary], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    const stdout = String((error as { stdout?: unknown }).stdout ?? "");
    // A static binary: ldd says so and exits non-zero; it needs no libraries.
    if (
      /not a dynamic executable|statically linked/.test(
        stdout + String((error as { stderr?: unknown }).stderr ?? ""),
      )
    ) {
      return [];
    }
    throw new OptimizerError(
      ErrorCodes.SANDBOX_UNAVAILABLE,
      `Cannot list the libraries of ${binary} with ldd (${error instanceof Error ? error.message : String(error)}). Install ldd (libc-bin) or name a ready-made Node image with the "image" option.`,
    );
  }
  const libs: string[] = [];
  for (const line of out.split("\n")) {
    const arrow = /=>\s*(\/\S+)/.exec(line);
    const bare = /^\s*(\/\S+)\s+\(/.exec(line);
    const path = arrow?.[1] ?? bare?.[1];
    if (path) libs.push(path);
    else if (/=>\s*not found/.test(line)) {
      throw new OptimizerError(
        ErrorCodes.SANDBOX_UNAVAILABLE,
        `${binary} links a library that is missing here: ${line.trim()}`,
      );
    }
  }
  return [...new Set(libs)];
}

function nodeVersionOf(nodePath: string): string {
  if (nodePath === process.execPath) return process.version;
  try {
    return execFileSync(nodePath, ["--version"], { encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
}

async function checkPlatform(
  docker: Docker,
  endpoint: string,
  nodePath: string | undefined,
): Promise<void> {
  let info: { OSType?: string; Architecture?: string };
  try {
    info = await docker.info();
  } catch (error) {
    throw engineUnavailable(error, endpoint, "reading the engine's info");
  }
  const engineArch = normalizeArch(info.Architecture ?? "");
  // A binary named by the caller is taken at its word; our own must match the engine.
  const hostMismatch =
    nodePath === undefined &&
    (process.platform !== "linux" || normalizeArch(process.arch) !== engineArch);
  if (info.OSType !== "linux" || hostMismatch) {
    throw new OptimizerError(
      ErrorCodes.SANDBOX_UNAVAILABLE,
      `Cannot build the runner image from this host's Node (${process.platform}/${process.arch}) for the engine at ${endpoint} (${info.OSType}/${info.Architecture}). Build it on a Linux host of the engine's architecture, or name a Node image with the "image" option (e.g. node:24-slim).`,
    );
  }
}

function normalizeArch(arch: string): string {
  const a = arch.toLowerCase();
  if (a === "x64" || a === "amd64" || a === "x86_64") return "x86_64";
  if (a === "arm64" || a === "aarch64") return "aarch64";
  return a;
}

function splitTag(tag: string): [string, string] {
  const slash = tag.lastIndexOf("/");
  const colon = tag.lastIndexOf(":");
  return colon > slash ? [tag.slice(0, colon), tag.slice(colon + 1)] : [tag, "latest"];
}

function followProgress(docker: Docker, stream: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (
        error: Error | null,
        events: Array<{ error?: string; errorDetail?: { message?: string } }>,
      ) => {
        const failed = events?.find((e) => e.error || e.errorDetail);
        if (error) reject(error);
        else if (failed) reject(new Error(failed.errorDetail?.message ?? failed.error));
        else resolve();
      },
    );
  });
}
