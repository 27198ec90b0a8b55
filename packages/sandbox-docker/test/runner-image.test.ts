import { ErrorCodes } from "@mcp-optimizer/core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  buildRunnerImage,
  createDockerSandbox,
  type DockerSandbox,
  defaultRunnerImage,
  IMAGE_LABEL,
} from "../src/index.js";
import { docker, expectNoContainersLeft, job, nullHost, requireDocker } from "./helpers.js";

/** A tag of its own, so this file can build and delete without touching the default image. */
const TAG = `mcp-optimizer/sandbox-runner-test:${process.pid}`;

async function removeImage(tag: string): Promise<void> {
  await docker
    .getImage(tag)
    .remove({ force: true })
    .catch(() => {});
}

describe("the runner image (real engine, offline)", () => {
  const sandboxes: DockerSandbox[] = [];
  beforeAll(async () => {
    await requireDocker();
    await removeImage(TAG);
  });
  afterAll(async () => {
    await Promise.all(sandboxes.map((s) => s.close()));
    await removeImage(TAG);
    await expectNoContainersLeft();
  });

  test("is named after this host's Node", () => {
    expect(defaultRunnerImage()).toBe(
      `mcp-optimizer/sandbox-runner:node${process.versions.node}-${process.arch}`,
    );
  });

  test("a sandbox builds a missing image on demand, from this host's Node and nothing else", async () => {
    const sandbox = createDockerSandbox({
      image: TAG,
      buildImage: true,
      poolSize: 0,
      nodeApis: true,
    });
    sandboxes.push(sandbox);
    const session = await sandbox.open();
    const out = await session.execute(job("return process.version"), nullHost);
    expect(out.value).toBe(process.version);
    const image = await docker.getImage(TAG).inspect();
    expect(image.Config.Labels?.[IMAGE_LABEL]).toBe(process.version);
    expect(image.Config.User).toBe("65534:65534");
    // No shell, no package manager: Node, its libraries, /etc/passwd and /etc/group.
    const files = await session.execute(
      job(`
        const fs = process.getBuiltinModule("node:fs");
        const walk = (dir) => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
          const p = dir + "/" + e.name;
          return e.isDirectory() ? walk(p) : [p];
        });
        return ["/usr", "/lib", "/lib64", "/etc", "/bin", "/sbin"].filter((d) => fs.existsSync(d)).flatMap(walk).sort();
      `),
      nullHost,
    );
    const list = files.value as string[];
    expect(list).toContain("/usr/local/bin/node");
    expect(list).toContain("/etc/passwd");
    expect(list.some((f) => /\/(sh|bash|dash|busybox|apt|apk)$/.test(f))).toBe(false);
    expect(
      list.every(
        (f) => f === "/usr/local/bin/node" || /\.so(\.\d+)*$/.test(f) || f.startsWith("/etc/"),
      ),
    ).toBe(true);
    await session.close();
  });

  test("buildRunnerImage reuses an existing tag unless forced", async () => {
    const again = await buildRunnerImage({ tag: TAG });
    expect(again.built).toBe(false);
    const forced = await buildRunnerImage({ tag: TAG, force: true });
    expect(forced.built).toBe(true);
    expect(forced.files[0]).toBe("/usr/local/bin/node");
    expect(forced.sizeBytes).toBeGreaterThan(10 * 1024 * 1024);
  });

  test("a named image that is missing is refused with what to do, not built", async () => {
    const sandbox = createDockerSandbox({ image: "mcp-optimizer/does-not-exist:1", poolSize: 0 });
    sandboxes.push(sandbox);
    await expect(sandbox.open()).rejects.toMatchObject({
      code: ErrorCodes.SANDBOX_UNAVAILABLE,
      message: expect.stringContaining("has no image mcp-optimizer/does-not-exist:1"),
    });
    const caps = await sandbox.capabilities();
    expect(caps.available).toBe(false);
  });

  test("an image without Node at nodePath fails to start with a clear error", async () => {
    const sandbox = createDockerSandbox({ image: TAG, nodePath: "/bin/sh", poolSize: 0 });
    sandboxes.push(sandbox);
    const session = await sandbox.open();
    await expect(session.execute(job("return 1"), nullHost)).rejects.toMatchObject({
      code: ErrorCodes.SANDBOX_UNAVAILABLE,
    });
    await session.close();
  });
});
