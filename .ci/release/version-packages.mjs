#!/usr/bin/env node
// `pnpm version-packages`: `changeset version` under the release policy's one rule Changesets
// cannot follow by itself (RELEASING.md): a plug-in's peer range on a workspace package widens,
// never narrows. Peer ranges are plain ranges ("^0.1.0"), which Changesets leaves alone
// (bumpVersionsWithWorkspaceProtocolOnly) and does not count as edges of its dependents graph.
// So this script asks Changesets for its plan first (on a copy), and for every peer range a
// planned version falls outside of: gives the plug-in a patch changeset if the plan does not
// release it, runs `changeset version`, then appends `|| ^<new version>` to the range. CI
// tested the plug-in against that core, as it tests every commit.
//
// Usage: node .ci/release/version-packages.mjs [--cwd DIR]   (DIR defaults to the repository)
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
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, "../..");
const require = createRequire(join(REPO, "package.json"));
const semver = require("semver");

/** The workspace's publishable packages: dir, manifest. */
export function publishablePackages(root) {
  const out = [];
  for (const group of ["packages", "adaptors", "apps"]) {
    const base = join(root, group);
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base)) {
      const file = join(base, name, "package.json");
      if (!existsSync(file)) continue;
      const json = JSON.parse(readFileSync(file, "utf8"));
      if (!json.private) out.push({ dir: join(base, name), file, json });
    }
  }
  return out;
}

/** Peer ranges of each package on other workspace packages: name -> dep -> range. */
export function workspacePeerRanges(packages) {
  const names = new Set(packages.map((p) => p.json.name));
  const peers = new Map();
  for (const p of packages) {
    const ranges = {};
    for (const [dep, range] of Object.entries(p.json.peerDependencies ?? {}))
      if (names.has(dep)) ranges[dep] = range;
    peers.set(p.json.name, ranges);
  }
  return peers;
}

/** `range` widened to take `version` too; the range itself when it already does. */
export function widenRange(range, version) {
  if (semver.satisfies(version, range)) return range;
  return `${range} || ^${version}`;
}

function addChangelogLine(dir, version, line) {
  const file = join(dir, "CHANGELOG.md");
  if (!existsSync(file)) return;
  const text = readFileSync(file, "utf8");
  const heading = `## ${version}\n`;
  const at = text.indexOf(heading);
  if (at < 0) return;
  const next = text.indexOf("\n## ", at + heading.length);
  const end = next < 0 ? text.length : next;
  const section = text.slice(at, end);
  const patch = section.includes("### Patch Changes\n")
    ? section.replace("### Patch Changes\n\n", `### Patch Changes\n\n- ${line}\n`)
    : `${section.trimEnd()}\n\n### Patch Changes\n\n- ${line}\n`;
  writeFileSync(file, text.slice(0, at) + patch + (next < 0 ? "" : text.slice(end)));
}

function changesetVersion(root) {
  execFileSync(join(REPO, "node_modules/.bin/changeset"), ["version"], {
    cwd: root,
    stdio: ["ignore", "inherit", "inherit"],
  });
}

/**
 * The versions `changeset version` would give, learnt by running it on a throwaway copy of the
 * manifests and changesets: Changesets' own plan, dependents included.
 */
export function plannedVersions(root) {
  const copy = mkdtempSync(join(tmpdir(), "mcpo-release-plan-"));
  try {
    for (const file of ["package.json", "pnpm-workspace.yaml"])
      cpSync(join(root, file), join(copy, file));
    cpSync(join(root, ".changeset"), join(copy, ".changeset"), { recursive: true });
    for (const group of ["packages", "adaptors", "apps"]) {
      const base = join(root, group);
      if (!existsSync(base)) continue;
      for (const name of readdirSync(base)) {
        const file = join(base, name, "package.json");
        if (!existsSync(file)) continue;
        mkdirSync(join(copy, group, name), { recursive: true });
        cpSync(file, join(copy, group, name, "package.json"));
      }
    }
    changesetVersion(copy);
    return new Map(publishablePackages(copy).map((p) => [p.json.name, p.json.version]));
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

/**
 * Runs `changeset version` in `root` under the peer-range policy: a peer range the release
 * leaves behind is widened (`|| ^<new>`), and a dependent the plan would not release gets a
 * patch changeset saying so first, so that the widened range is published.
 */
export function versionPackages(root) {
  const before = publishablePackages(root);
  const peers = workspacePeerRanges(before);
  const plan = plannedVersions(root);
  const widened = [];
  for (const p of before) {
    for (const [dep, range] of Object.entries(peers.get(p.json.name) ?? {})) {
      const next = widenRange(range, plan.get(dep));
      if (next !== range)
        widened.push({ name: p.json.name, dir: p.dir, dep, from: range, to: next });
    }
  }
  const note = (w) =>
    `Peer range on \`${w.dep}\` widened to \`${w.to}\` (was \`${w.from}\`): this release works with ${w.dep} ${plan.get(w.dep)} as well.`;
  const released = new Set(
    before.filter((p) => plan.get(p.json.name) !== p.json.version).map((p) => p.json.name),
  );
  for (const w of widened.filter((x) => !released.has(x.name))) {
    const id = `widen-peer-${w.name.replace(/[^a-z0-9]+/gi, "-").replace(/^-|-$/g, "")}`;
    writeFileSync(
      join(root, ".changeset", `${id}.md`),
      `---\n${JSON.stringify(w.name)}: patch\n---\n\n${note(w)}\n`,
    );
  }
  changesetVersion(root);
  for (const p of publishablePackages(root)) {
    const mine = widened.filter((w) => w.name === p.json.name);
    if (mine.length === 0) continue;
    for (const w of mine) {
      p.json.peerDependencies[w.dep] = w.to;
      if (released.has(w.name)) addChangelogLine(p.dir, p.json.version, note(w));
      console.log(`widened ${w.name} -> ${w.dep}: "${w.from}" to "${w.to}"`);
    }
    writeFileSync(p.file, `${JSON.stringify(p.json, null, 2)}\n`);
  }
  return { widened, plan };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf("--cwd");
  versionPackages(i > 0 ? resolve(process.argv[i + 1]) : REPO);
}
