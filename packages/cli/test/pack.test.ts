import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { tempDir } from "./helpers.js";

const PACKAGE = fileURLToPath(new URL("..", import.meta.url));
// Unpacked under the package's node_modules so that its dependencies resolve as they would
// after `npm install` (node walks up to packages/cli/node_modules), with no registry needed.
const INSTALL = join(PACKAGE, "node_modules", ".mcpo-pack-test");

afterAll(() => rmSync(INSTALL, { recursive: true, force: true }));

describe("the packed tarball (what npx runs)", () => {
  test("holds the bin and its code, names real versions, and the bin runs from it", () => {
    const out = tempDir("mcpo-pack-");
    execFileSync("pnpm", ["pack", "--pack-destination", out], { cwd: PACKAGE, stdio: "pipe" });
    const tarball = readdirSync(out).find((f) => f.endsWith(".tgz"));
    expect(tarball).toBeDefined();
    const files = execFileSync("tar", ["-tzf", join(out, tarball!)], { encoding: "utf8" }).split(
      "\n",
    );
    expect(files).toContain("package/dist/bin.js");
    expect(files).toContain("package/dist/index.d.ts");
    expect(files).toContain("package/README.md");
    expect(files).toContain("package/templates/adaptor/package.json.tmpl");
    expect(files.some((f) => f.startsWith("package/src/") || f.startsWith("package/test/"))).toBe(
      false,
    );

    const dir = join(INSTALL, "node_modules", "@mcp-optimizer", "cli");
    rmSync(INSTALL, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    execFileSync("tar", ["-xzf", join(out, tarball!), "-C", dir, "--strip-components=1"]);
    const manifest = readFileSync(join(dir, "package.json"), "utf8");
    expect(manifest).not.toContain("workspace:");
    const bin = (JSON.parse(manifest) as { bin: Record<string, string> }).bin["mcp-optimizer"]!;
    const entry = join(dir, bin);
    expect(readFileSync(entry, "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true);

    const version = execFileSync(process.execPath, [entry, "--version"], { encoding: "utf8" });
    expect(version.trim()).toBe((JSON.parse(manifest) as { version: string }).version);
    const caps = JSON.parse(
      execFileSync(process.execPath, [entry, "capabilities", "--json"], {
        encoding: "utf8",
        cwd: tempDir(),
        env: { ...process.env, MCPO_CONFIG: "" },
      }),
    ) as { sandboxes: { mode: string; available: boolean }[] };
    expect(caps.sandboxes.find((s) => s.mode === "process")?.available).toBe(true);
  });
});
