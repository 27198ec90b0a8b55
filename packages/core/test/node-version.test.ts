import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import {
  compareVersions,
  createProcessSandbox,
  hasErrorCode,
  MINIMUM_NODE_VERSION,
  nodeVersionProblem,
} from "../src/index.js";
import { oldNodeBinary } from "../src/testing/index.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../../..");
const oldNode = oldNodeBinary();
const onOldNode = oldNode ? test : test.skip; // CI always has one (oldNodeBinary throws otherwise)

describe("the Node.js version", () => {
  test("every package.json (and the adaptor template) says the same minimum as the start-up check", () => {
    const files = ["package.json", "packages/cli/templates/adaptor/package.json.tmpl"];
    for (const group of ["packages", "adaptors", "apps"]) {
      let names: string[] = [];
      try {
        names = readdirSync(join(ROOT, group));
      } catch {}
      for (const name of names) files.push(`${group}/${name}/package.json`);
    }
    let checked = 0;
    for (const file of files) {
      let text: string;
      try {
        text = readFileSync(join(ROOT, file), "utf8");
      } catch {
        continue;
      }
      expect(JSON.parse(text).engines?.node, file).toBe(`>=${MINIMUM_NODE_VERSION}`);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(8);
  });

  test("versions compare by number", () => {
    expect(compareVersions("22.9.0", "22.15.0")).toBeLessThan(0);
    expect(compareVersions("v24.0.0", "22.15.0")).toBeGreaterThan(0);
    expect(compareVersions("22.15.0", "22.15")).toBe(0);
    expect(nodeVersionProblem("20.20.2")).toContain(`needs Node.js >= ${MINIMUM_NODE_VERSION}`);
    expect(nodeVersionProblem("20.20.2")).toContain("v20.20.2");
    expect(nodeVersionProblem(process.versions.node)).toBeUndefined();
  });

  onOldNode("on an old Node the demo prints the minimum and exits 4, without a stack trace", () => {
    const demo = join(ROOT, "packages/core/examples/demo.mjs");
    const r = spawnSync(oldNode!, [demo], { encoding: "utf8", timeout: 60_000 });
    expect(r.status, r.stderr).toBe(4);
    expect(r.stderr).toContain(`MCP Optimizer needs Node.js >= ${MINIMUM_NODE_VERSION}`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe("");
  });

  onOldNode(
    "the process sandbox tells the truth about a runner Node without --permission",
    async () => {
      const sandbox = createProcessSandbox({ nodePath: oldNode!, namespaces: "off" });
      try {
        const caps = await sandbox.capabilities();
        expect(caps.available).toBe(false);
        expect(caps.reason).toContain("needs Node.js >= 22.13.0");
        expect(caps.reason).toContain("--permission");
        expect(caps.details.permissionModel).toBe(false);
        const error = await sandbox.open().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(hasErrorCode(error, "SANDBOX_UNAVAILABLE")).toBe(true);
        expect((error as Error).message).toContain("needs Node.js >= 22.13.0");
      } finally {
        await sandbox.close();
      }
      // And the host's own Node has it.
      const own = createProcessSandbox({ namespaces: "off" });
      try {
        expect((await own.capabilities()).available).toBe(true);
      } finally {
        await own.close();
      }
    },
  );
});
