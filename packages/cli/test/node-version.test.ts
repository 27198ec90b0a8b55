import { spawnSync } from "node:child_process";
import { MINIMUM_NODE_VERSION } from "@mcp-optimizer/core";
import { oldNodeBinary } from "@mcp-optimizer/core/testing";
import { describe, expect, test } from "vitest";
import { BIN, tempDir, writeServersConfig } from "./helpers.js";

const oldNode = oldNodeBinary();
const onOldNode = oldNode ? test : test.skip; // CI always has one (oldNodeBinary throws otherwise)

describe("start-up on an old Node.js", () => {
  onOldNode("every command prints the minimum version and exits 4, without a stack trace", () => {
    const config = writeServersConfig(tempDir());
    for (const args of [
      ["serve", "--config", config],
      ["capabilities", "--config", config],
      ["--version"],
    ]) {
      const r = spawnSync(oldNode!, [BIN, ...args], { encoding: "utf8", timeout: 60_000 });
      expect(r.status, `${args.join(" ")}: ${r.stderr}`).toBe(4);
      expect(r.stderr).toContain(
        `mcp-optimizer: MCP Optimizer needs Node.js >= ${MINIMUM_NODE_VERSION}`,
      );
      expect(r.stderr).toContain(`(${oldNode})`);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stdout).toBe("");
    }
  });
});
