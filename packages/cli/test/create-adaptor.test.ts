import { execFile } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { hasErrorCode } from "@mcp-optimizer/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAdaptor } from "../src/commands/create-adaptor.js";

const run = promisify(execFile);
const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

/** Where this checkout has a package installed (root first, then core's own dependencies). */
function installed(pkg: string): string {
  for (const base of [join(repo, "node_modules"), join(repo, "packages", "core", "node_modules")]) {
    const dir = join(base, pkg);
    if (existsSync(join(dir, "package.json"))) return dir;
  }
  throw new Error(`${pkg} is not installed in this checkout: run pnpm install`);
}

let workspace: string;

beforeAll(() => {
  // A temp copy of the workspace's layout. Dependencies are linked from this checkout rather
  // than installed, so the test stays offline and fast; what `pnpm install` would link.
  workspace = mkdtempSync(join(tmpdir(), "mcpo-create-adaptor-"));
  writeFileSync(
    join(workspace, "package.json"),
    JSON.stringify({ name: "tmp-workspace", private: true, type: "module" }),
  );
  writeFileSync(
    join(workspace, "pnpm-workspace.yaml"),
    "packages:\n  - packages/*\n  - adaptors/*\n",
  );
  copyFileSync(join(repo, "tsconfig.base.json"), join(workspace, "tsconfig.base.json"));
  copyFileSync(join(repo, "biome.json"), join(workspace, "biome.json"));
  mkdirSync(join(workspace, ".changeset"));
  symlinkSync(join(repo, "node_modules"), join(workspace, "node_modules"), "dir");
});

afterAll(() => {
  rmSync(workspace, { recursive: true, force: true });
});

function linkDependencies(pkgDir: string): void {
  const manifest = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as {
    devDependencies: Record<string, string>;
  };
  for (const dep of Object.keys(manifest.devDependencies)) {
    const target = dep === "@mcp-optimizer/core" ? join(repo, "packages", "core") : installed(dep);
    const link = join(pkgDir, "node_modules", dep);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(target, link, "dir");
  }
}

describe("createAdaptor", () => {
  it("scaffolds a package that builds and passes its own test", async () => {
    const { directory, files } = await createAdaptor({ name: "acme-notes", directory: workspace });
    expect(directory).toBe(join(workspace, "adaptors", "acme-notes"));
    expect(files.sort()).toEqual(
      [
        ".changeset/adaptor-acme-notes-initial.md",
        "adaptors/acme-notes/README.md",
        "adaptors/acme-notes/package.json",
        "adaptors/acme-notes/src/index.ts",
        "adaptors/acme-notes/test/acme-notes-adaptor.test.ts",
        "adaptors/acme-notes/tsconfig.build.json",
        "adaptors/acme-notes/tsconfig.json",
        "adaptors/acme-notes/vitest.config.ts",
      ].sort(),
    );
    const manifest = JSON.parse(readFileSync(join(directory, "package.json"), "utf8"));
    expect(manifest.name).toBe("@mcp-optimizer/adaptor-acme-notes");
    // A plain range (RELEASING.md): widened by releases, never narrowed.
    expect(manifest.peerDependencies).toEqual({ "@mcp-optimizer/core": "^0.1.0" });
    expect(manifest.devDependencies["@mcp-optimizer/core"]).toBe("workspace:*");
    const source = readFileSync(join(directory, "src", "index.ts"), "utf8");
    expect(source).toContain("export class AcmeNotesAdaptor");
    expect(source).toContain("registerOperation");
    expect(source).not.toMatch(/\{\{\w+\}\}/);
    expect(
      readFileSync(join(workspace, ".changeset", "adaptor-acme-notes-initial.md"), "utf8"),
    ).toContain('"@mcp-optimizer/adaptor-acme-notes": minor');

    linkDependencies(directory);
    const tsc = join(repo, "node_modules", ".bin", "tsc");
    await run(tsc, ["-p", "tsconfig.build.json"], { cwd: directory });
    expect(existsSync(join(directory, "dist", "index.js"))).toBe(true);
    expect(existsSync(join(directory, "dist", "index.d.ts"))).toBe(true);
    await run(tsc, ["-p", "tsconfig.json", "--noEmit"], { cwd: directory });

    // The repo's own lint rules hold for generated code.
    await run(join(repo, "node_modules", ".bin", "biome"), ["check", "--vcs-enabled=false", "."], {
      cwd: directory,
    });

    const vitest = join(repo, "node_modules", ".bin", "vitest");
    const { stdout } = await run(vitest, ["run", "--reporter=verbose"], {
      cwd: directory,
      env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1" },
    });
    expect(stdout).toMatch(/3 passed/);
    expect(stdout).not.toMatch(/failed|skipped/);
  }, 120_000);

  it("a name that is a JavaScript reserved word still gives a working package", async () => {
    // `new` cannot be a global in a program; the scaffold names its server `new_`.
    const { directory } = await createAdaptor({ name: "new", directory: workspace });
    const source = readFileSync(join(directory, "src", "index.ts"), "utf8");
    expect(source).toContain('const SERVER = "new_";');
    expect(source).toContain("export class NewAdaptor");
    linkDependencies(directory);
    const { stdout } = await run(join(repo, "node_modules", ".bin", "vitest"), ["run"], {
      cwd: directory,
      env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1" },
    });
    expect(stdout).toMatch(/3 passed/);
    expect(stdout).not.toMatch(/failed|skipped/);
  }, 120_000);

  it("refuses an existing package unless forced", async () => {
    await createAdaptor({ name: "twice", directory: workspace });
    const marker = join(workspace, "adaptors", "twice", "extra.txt");
    writeFileSync(marker, "x");
    const error = await createAdaptor({ name: "twice", directory: workspace }).catch(
      (e: unknown) => e,
    );
    expect(hasErrorCode(error, "INVALID_INPUT")).toBe(true);
    expect(existsSync(marker)).toBe(true);
    await createAdaptor({ name: "twice", directory: workspace, force: true });
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(join(workspace, "adaptors", "twice", "src", "index.ts"))).toBe(true);
  });

  it("refuses names that are not a package name and a missing directory", async () => {
    for (const name of ["", "Notes", "my_crm", "-x", "a--b", "../escape", "x".repeat(41)]) {
      const error = await createAdaptor({ name, directory: workspace }).catch((e: unknown) => e);
      expect(hasErrorCode(error, "INVALID_INPUT")).toBe(true);
    }
    const error = await createAdaptor({ name: "ok", directory: join(workspace, "nope") }).catch(
      (e: unknown) => e,
    );
    expect(hasErrorCode(error, "INVALID_INPUT")).toBe(true);
  });
});
