import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { cli, tempDir } from "./helpers.js";

describe("create-adaptor (the command)", () => {
  test("scaffolds adaptors/NAME in --dir, lists the files, refuses to overwrite without --force", async () => {
    const workspace = tempDir("mcpo-scaffold-");
    const r = await cli(["create-adaptor", "crm-notes", "--dir", workspace, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const created = JSON.parse(r.stdout) as { directory: string; files: string[] };
    expect(created.directory).toBe(join(workspace, "adaptors", "crm-notes"));
    expect(created.files).toContain("adaptors/crm-notes/package.json");
    for (const file of created.files) expect(existsSync(join(workspace, file)), file).toBe(true);
    expect(JSON.parse(readFileSync(join(created.directory, "package.json"), "utf8")).name).toBe(
      "@mcp-optimizer/adaptor-crm-notes",
    );

    const again = await cli(["create-adaptor", "crm-notes"], { cwd: workspace });
    expect(again.code).toBe(6);
    expect(again.stderr).toContain("already exists; pass --force");
    const forced = await cli(["create-adaptor", "crm-notes", "--force"], { cwd: workspace });
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain("adaptors/crm-notes/src/index.ts");
  });

  test("a bad name or no name is a usage error", async () => {
    const bad = await cli(["create-adaptor", "Bad_Name", "--dir", tempDir()]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("An adaptor name is");
    const none = await cli(["create-adaptor"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("create-adaptor needs a NAME");
  });
});
