import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";

/**
 * The rules between packages (docs/DESIGN.md): a plug-in implements one core interface,
 * lists core only as a peer (plus a workspace dev dependency), and never depends on or
 * imports another plug-in. Only the CLI, adaptors and apps compose plug-ins.
 */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../../..");
const COMPOSERS = new Set(["@mcp-optimizer/cli"]);

interface Pkg {
  dir: string;
  json: {
    name: string;
    private?: boolean;
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
    optionalDependencies?: Record<string, string>;
  };
}

function workspacePackages(): Pkg[] {
  const out: Pkg[] = [];
  for (const group of ["packages", "adaptors", "apps"]) {
    const base = join(ROOT, group);
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base)) {
      const file = join(base, name, "package.json");
      if (existsSync(file))
        out.push({ dir: join(base, name), json: JSON.parse(readFileSync(file, "utf8")) });
    }
  }
  return out;
}

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|mts|js|mjs)$/.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

const packages = workspacePackages();
const isPlugin = (p: Pkg) =>
  p.dir.includes(`${join(ROOT, "packages")}/`) &&
  p.json.name !== "@mcp-optimizer/core" &&
  !COMPOSERS.has(p.json.name);
const plugins = packages.filter(isPlugin);
const pluginNames = new Set(plugins.map((p) => p.json.name));

describe("the package graph", () => {
  test("the workspace has core and at least one plug-in", () => {
    expect(packages.map((p) => p.json.name)).toContain("@mcp-optimizer/core");
    expect(plugins.length).toBeGreaterThan(0);
  });

  test("core depends on no other workspace package", () => {
    const core = packages.find((p) => p.json.name === "@mcp-optimizer/core")!;
    const all = {
      ...core.json.dependencies,
      ...core.json.peerDependencies,
      ...core.json.optionalDependencies,
    };
    expect(Object.keys(all).filter((d) => d.startsWith("@mcp-optimizer/"))).toEqual([]);
  });

  for (const plugin of plugins) {
    describe(plugin.json.name, () => {
      test("lists core as a peer dependency and a workspace dev dependency only", () => {
        expect(plugin.json.peerDependencies?.["@mcp-optimizer/core"]).toMatch(/^workspace:\^|^\^/);
        expect(plugin.json.devDependencies?.["@mcp-optimizer/core"]).toMatch(/^workspace:/);
        expect(plugin.json.dependencies?.["@mcp-optimizer/core"]).toBeUndefined();
      });

      test("depends on no other plug-in", () => {
        const all = {
          ...plugin.json.dependencies,
          ...plugin.json.peerDependencies,
          ...plugin.json.devDependencies,
          ...plugin.json.optionalDependencies,
        };
        const others = Object.keys(all).filter(
          (d) => pluginNames.has(d) || COMPOSERS.has(d) || d.startsWith("@mcp-optimizer/adaptor-"),
        );
        expect(others).toEqual([]);
      });

      test("imports no other plug-in and no internal path of core", () => {
        const offenders: string[] = [];
        for (const file of [
          ...sourceFiles(join(plugin.dir, "src")),
          ...sourceFiles(join(plugin.dir, "test")),
          ...sourceFiles(join(plugin.dir, "bench")),
        ]) {
          const text = readFileSync(file, "utf8");
          for (const m of text.matchAll(
            /(?:from\s+|import\s*\(\s*)["'](@mcp-optimizer\/[^"']+)["']/g,
          )) {
            const spec = m[1]!;
            const pkg = spec.split("/").slice(0, 2).join("/");
            const allowedCore =
              spec === "@mcp-optimizer/core" || spec === "@mcp-optimizer/core/testing";
            if (pkg === "@mcp-optimizer/core" ? !allowedCore : pkg !== plugin.json.name) {
              offenders.push(`${relative(ROOT, file)}: ${spec}`);
            }
          }
        }
        expect(offenders).toEqual([]);
      });
    });
  }
});
