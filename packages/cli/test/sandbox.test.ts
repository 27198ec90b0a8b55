import { spawnSync } from "node:child_process";
import { describe, expect, test } from "vitest";
import { cli } from "./helpers.js";

describe("sandbox build-image", () => {
  test("builds (or finds) the docker runner image on the engine", async () => {
    const info = spawnSync("docker", ["info", "--format", "{{.ServerVersion}}"], {
      encoding: "utf8",
    });
    if (info.status !== 0) {
      throw new Error(
        `A Docker engine is needed (see .ci/setup/30-docker.sh): ${info.stderr || info.error}`,
      );
    }
    const r = await cli(["sandbox", "build-image", "--json"], { timeoutMs: 300_000 });
    expect(r.code, r.stderr).toBe(0);
    const image = JSON.parse(r.stdout) as {
      tag: string;
      id: string;
      built: boolean;
      sizeBytes: number;
    };
    expect(image.tag).toMatch(/^mcp-optimizer\/sandbox-runner:node/);
    expect(image.id).toMatch(/^sha256:/);
    expect(image.sizeBytes).toBeGreaterThan(1_000_000);
    const inspect = spawnSync("docker", ["image", "inspect", image.tag, "--format", "{{.Id}}"], {
      encoding: "utf8",
    });
    expect(inspect.stdout.trim()).toBe(image.id);
    // a second call finds it
    const again = await cli(["sandbox", "build-image", "--json"]);
    expect(JSON.parse(again.stdout)).toMatchObject({ tag: image.tag, id: image.id, built: false });
  });

  test("an unknown subcommand is a usage error", async () => {
    const r = await cli(["sandbox", "rebuild"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('sandbox takes build-image; got "rebuild"');
  });
});
