#!/usr/bin/env node
// The release, rehearsed without publishing (CI runs it after the tests; RELEASING.md):
//   1. `pnpm version-packages` on a scratch copy of the built repository, and the policy checked
//      on its result: a first release is 0.1.0, versions only go up, peer ranges on workspace
//      packages never narrow, every released package has its CHANGELOG.md entry.
//   2. The policy again on a simulated next release: a minor of core, which must give each
//      plug-in a patch whose peer range on core widens to take the new core.
//   3. `pnpm pack` of every package of step 1, and each tarball installed alone into an empty
//      project (its own dependencies from the registry or the store, the workspace packages it
//      declares as tarballs, nothing else), then imported; the CLI's bin is run.
// Exits non-zero with a message naming each broken rule.
import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { publishablePackages, versionPackages, workspacePeerRanges } from "./version-packages.mjs";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const require = createRequire(join(REPO, "package.json"));
const semver = require("semver");
const keep = process.argv.includes("--keep");
const problems = [];
const fail = (message) => {
  problems.push(message);
  console.error(`::error:: release dry run: ${message}`);
};
const step = (what) => console.log(`\n--- ${what}`);

/** Ignored folders of a package that are never published. */
const SKIP = new Set(["node_modules", ".cache", ".turbo", "coverage"]);

/** The repository as a checkout has it (tracked and untracked, not ignored), plus build output. */
function scratchCopy(from, label) {
  const to = mkdtempSync(join(tmpdir(), `mcpo-release-${label}-`));
  const files = execFileSync("git", ["ls-files", "-z", "-co", "--exclude-standard"], {
    cwd: from,
    encoding: "utf8",
  })
    .split("\0")
    .filter(Boolean);
  for (const file of files) {
    if (!existsSync(join(from, file))) continue; // deleted, not yet committed
    mkdirSync(dirname(join(to, file)), { recursive: true });
    cpSync(join(from, file), join(to, file));
  }
  // Build output is ignored by git but published: dist/, and e.g. sandbox-wasm's engine/.
  for (const p of publishablePackages(from)) {
    for (const entry of readdirSync(p.dir)) {
      if (SKIP.has(entry)) continue;
      const path = join(p.dir, entry);
      if (existsSync(join(to, relative(from, path)))) continue;
      cpSync(path, join(to, relative(from, path)), { recursive: true });
    }
  }
  return to;
}

/** The rules of RELEASING.md, checked between two states of the packages. */
function checkPolicy(label, root, before, after) {
  const peersBefore = workspacePeerRanges(before);
  const peersAfter = workspacePeerRanges(after);
  for (const p of after) {
    const old = before.find((b) => b.json.name === p.json.name);
    if (!old) continue;
    const [from, to] = [old.json.version, p.json.version];
    if (from === "0.0.0" && to !== "0.1.0")
      fail(
        `${label}: ${p.json.name}'s first release is ${to}; the policy's first release is 0.1.0.`,
      );
    if (semver.lt(to, from)) fail(`${label}: ${p.json.name} went down from ${from} to ${to}.`);
    if (to !== from) {
      const changelog = join(p.dir, "CHANGELOG.md");
      if (!existsSync(changelog) || !readFileSync(changelog, "utf8").includes(`\n## ${to}\n`))
        fail(`${label}: ${p.json.name} ${to} has no entry in its CHANGELOG.md.`);
    }
    for (const [dep, range] of Object.entries(peersBefore.get(p.json.name) ?? {})) {
      const next = peersAfter.get(p.json.name)?.[dep];
      if (!next) fail(`${label}: ${p.json.name} lost its peer dependency on ${dep}.`);
      else if (!semver.subset(range, next))
        fail(
          `${label}: ${p.json.name}'s peer range on ${dep} narrowed from "${range}" to "${next}".`,
        );
      const depVersion = after.find((a) => a.json.name === dep)?.json.version;
      if (next && depVersion && !semver.satisfies(depVersion, next))
        fail(`${label}: ${p.json.name}'s peer range "${next}" does not take ${dep} ${depVersion}.`);
    }
  }
  const left = readdirSync(join(root, ".changeset")).filter(
    (f) => f.endsWith(".md") && f !== "README.md",
  );
  if (left.length > 0) fail(`${label}: changesets not consumed: ${left.join(", ")}.`);
}

function pnpm(args, cwd) {
  return execFileSync("pnpm", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

const started = Date.now();
step("1. changeset version on a scratch copy");
const release = scratchCopy(REPO, "version");
const before = publishablePackages(release);
versionPackages(release);
const released = publishablePackages(release);
checkPolicy("this release", release, before, released);
for (const p of released)
  console.log(
    `${p.json.name} ${before.find((b) => b.json.name === p.json.name).json.version} -> ${p.json.version}`,
  );

step("2. a simulated next release: a minor of core");
const next = mkdtempSync(join(tmpdir(), "mcpo-release-next-"));
cpSync(release, next, { recursive: true });
writeFileSync(
  join(next, ".changeset", "dry-run-core-minor.md"),
  '---\n"@mcp-optimizer/core": minor\n---\n\nA simulated minor of core (release dry run).\n',
);
const nextBefore = publishablePackages(next);
versionPackages(next);
const nextAfter = publishablePackages(next);
checkPolicy("a core minor", next, nextBefore, nextAfter);
const core = nextAfter.find((p) => p.json.name === "@mcp-optimizer/core");
for (const p of nextAfter) {
  const range = p.json.peerDependencies?.["@mcp-optimizer/core"];
  if (!range) continue;
  const was = nextBefore.find((b) => b.json.name === p.json.name).json.version;
  if (p.json.version !== semver.inc(was, "patch"))
    fail(
      `a core minor: ${p.json.name} should get a patch release (${was} -> ${semver.inc(was, "patch")}), got ${p.json.version}.`,
    );
  console.log(
    `${p.json.name} ${was} -> ${p.json.version}, peer on core "${range}" (core ${core.json.version})`,
  );
}

step("3. pnpm pack, and each tarball installed alone and imported");
const tarballs = mkdtempSync(join(tmpdir(), "mcpo-release-tarballs-"));
const tarballOf = new Map();
for (const p of released) {
  const out = pnpm(["pack", "--pack-destination", tarballs], p.dir);
  const file = out
    .trim()
    .split("\n")
    .map((l) => l.trim())
    .find((l) => l.endsWith(".tgz"));
  tarballOf.set(p.json.name, file);
  const manifest = execFileSync("tar", ["-xzOf", file, "package/package.json"], {
    encoding: "utf8",
  });
  if (manifest.includes("workspace:"))
    fail(`${p.json.name}: the packed package.json still says workspace:.`);
}
const allowBuilds = Object.fromEntries(
  [
    ...readFileSync(join(REPO, "pnpm-workspace.yaml"), "utf8").matchAll(
      /^ {2}([\w@/.-]+): (true|false)$/gm,
    ),
  ].map((m) => [m[1], m[2] === "true"]),
);
const overrides = Object.fromEntries([...tarballOf].map(([name, file]) => [name, `file:${file}`]));
for (const p of released) {
  const project = mkdtempSync(join(tmpdir(), "mcpo-release-consumer-"));
  // The package, and the workspace packages it declares as peers (what a user adds with it).
  const peers = Object.keys(p.json.peerDependencies ?? {}).filter((d) => tarballOf.has(d));
  const dependencies = Object.fromEntries(
    [p.json.name, ...peers].map((n) => [n, `file:${tarballOf.get(n)}`]),
  );
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module", dependencies }, null, 2),
  );
  // pnpm 12 reads overrides and build approvals here: workspace packages resolve to the
  // tarballs, never to the registry; install scripts run as the repository allows them.
  writeFileSync(
    join(project, "pnpm-workspace.yaml"),
    `${JSON.stringify({ packages: [], overrides, allowBuilds, autoInstallPeers: false }, null, 2)}\n`,
  );
  try {
    pnpm(["install", "--prefer-offline"], project);
    const exports = execFileSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const m = await import(${JSON.stringify(p.json.name)}); console.log(Object.keys(m).length);`,
      ],
      { cwd: project, encoding: "utf8" },
    ).trim();
    if (!(Number(exports) > 0)) fail(`${p.json.name}: imported, but exports nothing.`);
    if (p.json.bin) {
      for (const bin of Object.keys(p.json.bin)) {
        const version = execFileSync(join(project, "node_modules", ".bin", bin), ["--version"], {
          cwd: project,
          encoding: "utf8",
        }).trim();
        if (version !== p.json.version)
          fail(`${p.json.name}: ${bin} --version says ${version}, not ${p.json.version}.`);
      }
      // The CLI finds its plug-ins, and the wasm engine is in sandbox-wasm's tarball.
      const caps = JSON.parse(
        execFileSync(
          join(project, "node_modules", ".bin", "mcp-optimizer"),
          ["capabilities", "--json"],
          {
            cwd: project,
            encoding: "utf8",
            env: { ...process.env, MCPO_CONFIG: "" },
          },
        ),
      );
      for (const mode of ["process", "wasm"]) {
        const s = caps.sandboxes.find((x) => x.mode === mode);
        if (!s?.available)
          fail(
            `${p.json.name}: installed alone, its ${mode} sandbox is unavailable: ${s?.reason ?? "not listed"}.`,
          );
      }
    }
    console.log(`${p.json.name}@${p.json.version}: installed alone, ${exports} exports`);
  } catch (error) {
    fail(
      `${p.json.name}: installing or importing the tarball alone failed: ${(error.stderr || error.message).toString().trim().split("\n").slice(-8).join(" | ")}`,
    );
  } finally {
    if (!keep) rmSync(project, { recursive: true, force: true });
  }
}

if (!keep)
  for (const dir of [release, next, tarballs]) rmSync(dir, { recursive: true, force: true });
console.log(
  `\nrelease dry run: ${problems.length === 0 ? "ok" : `${problems.length} problem(s)`} in ${Math.round((Date.now() - started) / 1000)} s`,
);
process.exit(problems.length === 0 ? 0 : 1);
