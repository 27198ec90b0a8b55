#!/usr/bin/env node
// Builds the deployment's images offline, the way the docker sandbox's runner image is built
// (packages/sandbox-docker/src/runner-image.ts): no base image, no pull, no registry. Each
// image is a root filesystem of this host's binaries and the shared libraries they link (as
// `ldd` lists them), imported as one layer with `docker import`:
//
//   mcp-optimizer/gateway   Node (this process's) + the gateway deployed by `pnpm deploy --prod`
//   mcp-optimizer/haproxy   Debian's haproxy (.ci/setup/60-haproxy.sh installs it)
//   mcp-optimizer/redis     Debian's redis-server (.ci/setup/20-redis.sh)
//
// Usage: node scripts/build-images.mjs [gateway|haproxy|redis ...] (default: all three)
// Prints one JSON line per image: { image, id, sizeBytes }.
import { execFileSync, spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const APP = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const VERSION = JSON.parse(
  execFileSync("node", ["-p", "JSON.stringify(require('./package.json').version)"], {
    cwd: APP,
    encoding: "utf8",
  }),
);

/** The libraries a binary links, by absolute path (none for a static binary). */
function linkedLibraries(binary) {
  const probe = spawnSync("ldd", [binary], { encoding: "utf8" });
  if (probe.status !== 0) {
    if (/not a dynamic executable|statically linked/.test(probe.stdout + probe.stderr)) return [];
    throw new Error(`ldd ${binary} failed: ${probe.stderr || probe.error?.message}`);
  }
  const libs = [];
  for (const line of probe.stdout.split("\n")) {
    if (/=>\s*not found/.test(line))
      throw new Error(`${binary} links a missing library: ${line.trim()}`);
    const path = /=>\s*(\/\S+)/.exec(line)?.[1] ?? /^\s*(\/\S+)\s+\(/.exec(line)?.[1];
    if (path) libs.push(path);
  }
  return libs;
}

function which(bin) {
  const found = spawnSync("sh", ["-c", `command -v ${bin}`], { encoding: "utf8" }).stdout.trim();
  if (!found)
    throw new Error(`${bin} is not installed here; install Debian's package (see .ci/setup).`);
  return found;
}

/** A root filesystem: the binaries at their paths, their libraries, a nobody user, /tmp. */
function rootfs(binaries) {
  const root = mkdtempSync(join(tmpdir(), "mcpo-image-"));
  const files = new Map();
  for (const [source, target] of binaries) {
    files.set(target, source);
    for (const lib of linkedLibraries(source)) files.set(lib, lib);
  }
  for (const [target, source] of files) {
    mkdirSync(join(root, dirname(target)), { recursive: true });
    copyFileSync(realpathSync(source), join(root, target));
    chmodSync(join(root, target), 0o755);
  }
  mkdirSync(join(root, "etc"), { recursive: true });
  writeFileSync(
    join(root, "etc/passwd"),
    "root:x:0:0:root:/root:/nonexistent\nnobody:x:65534:65534:nobody:/nonexistent:/nonexistent\n",
  );
  writeFileSync(join(root, "etc/group"), "root:x:0:\nnogroup:x:65534:\n");
  writeFileSync(join(root, "etc/nsswitch.conf"), "hosts: files dns\n");
  for (const dir of ["tmp", "data", "proc", "sys", "dev"])
    mkdirSync(join(root, dir), { recursive: true });
  chmodSync(join(root, "tmp"), 0o1777);
  chmodSync(join(root, "data"), 0o1777);
  return root;
}

function importImage(root, tag, changes) {
  const tar = spawnSync(
    "sh",
    [
      "-c",
      `tar --numeric-owner -C '${root}' -c . | docker import ${changes.map((c) => `--change '${c}'`).join(" ")} - '${tag}'`,
    ],
    { encoding: "utf8" },
  );
  if (tar.status !== 0) throw new Error(`docker import ${tag} failed: ${tar.stderr}`);
  const inspect = JSON.parse(
    execFileSync("docker", ["image", "inspect", tag], { encoding: "utf8" }),
  )[0];
  return { image: tag, id: inspect.Id, sizeBytes: inspect.Size };
}

const builders = {
  gateway() {
    const deployed = mkdtempSync(join(tmpdir(), "mcpo-gateway-deploy-"));
    rmSync(deployed, { recursive: true, force: true });
    // Production dependencies from the store (workspace packages as built), no dev ones.
    execFileSync(
      "pnpm",
      [
        "--filter",
        "@mcp-optimizer/gateway",
        "deploy",
        "--prod",
        "--prefer-offline",
        "--legacy",
        deployed,
      ],
      { cwd: APP, stdio: ["ignore", "ignore", "inherit"] },
    );
    const root = rootfs([[process.execPath, "/usr/local/bin/node"]]);
    cpSync(deployed, join(root, "app"), { recursive: true, verbatimSymlinks: true });
    rmSync(deployed, { recursive: true, force: true });
    try {
      return importImage(root, `mcp-optimizer/gateway:${VERSION}`, [
        "USER 65534:65534",
        "WORKDIR /app",
        "ENV NODE_ENV=production",
        "ENV MCPO_GATEWAY_LISTEN=0.0.0.0:8080",
        "EXPOSE 8080",
        'ENTRYPOINT ["/usr/local/bin/node", "/app/dist/bin.js"]',
        `LABEL org.opencontainers.image.title=mcp-optimizer-gateway org.opencontainers.image.version=${VERSION}`,
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
  haproxy() {
    const root = rootfs([[which("haproxy"), "/usr/sbin/haproxy"]]);
    try {
      return importImage(root, "mcp-optimizer/haproxy:2.6", [
        "USER 65534:65534",
        "EXPOSE 8080",
        'ENTRYPOINT ["/usr/sbin/haproxy", "-db", "-f", "/etc/haproxy/haproxy.cfg"]',
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
  redis() {
    const root = rootfs([[which("redis-server"), "/usr/bin/redis-server"]]);
    try {
      return importImage(root, "mcp-optimizer/redis:7", [
        "USER 65534:65534",
        "WORKDIR /data",
        "EXPOSE 6379",
        'ENTRYPOINT ["/usr/bin/redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--dir", "/data", "--appendonly", "yes"]',
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
};

const wanted = process.argv.slice(2);
for (const name of wanted.length ? wanted : Object.keys(builders)) {
  const build = builders[name];
  if (!build) {
    process.stderr.write(`unknown image "${name}": gateway, haproxy or redis\n`);
    process.exit(2);
  }
  process.stdout.write(`${JSON.stringify(build())}\n`);
}
