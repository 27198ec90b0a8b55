import { ErrorCodes, hasErrorCode } from "@mcp-optimizer/core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createDockerSandbox, createSandbox, type DockerSandbox } from "../src/index.js";
import {
  containersOf,
  docker,
  engineRuntimes,
  expectNoContainersLeft,
  job,
  nullHost,
  requireDocker,
} from "./helpers.js";

describe("OCI runtimes (real engine)", () => {
  const sandboxes: DockerSandbox[] = [];
  const make = (options: Parameters<typeof createDockerSandbox>[0]) => {
    const s = createDockerSandbox(options);
    sandboxes.push(s);
    return s;
  };

  beforeAll(requireDocker);
  afterAll(async () => {
    await Promise.all(sandboxes.map((s) => s.close()));
    await expectNoContainersLeft();
  });

  test("the engine has crun registered (.ci/setup/30-docker.sh does it)", async () => {
    expect(await engineRuntimes()).toContain("crun");
  });

  test("runtime: crun runs containers under crun and says so", async () => {
    const sandbox = make({ runtime: "crun", poolSize: 0, nodeApis: true });
    const caps = await sandbox.capabilities();
    expect(caps).toMatchObject({
      available: true,
      isolation: "container",
      details: { runtime: "crun" },
    });
    const session = await sandbox.open();
    const out = await session.execute(job("return process.getuid()"), nullHost);
    expect(out.value).toBe(65534);
    const [container] = await containersOf(sandbox.instance);
    const info = await docker.getContainer(container!.Id).inspect();
    expect(info.HostConfig.Runtime).toBe("crun");
    await session.close();
  });

  test("the default runtime is the engine's", async () => {
    const engineDefault = String((await docker.info()).DefaultRuntime);
    const sandbox = make({ poolSize: 0 });
    const caps = await sandbox.capabilities();
    expect(caps.details.runtime).toBe(engineDefault);
    const session = await sandbox.open();
    await session.execute(job("return 1"), nullHost);
    const [container] = await containersOf(sandbox.instance);
    const info = await docker.getContainer(container!.Id).inspect();
    expect(info.HostConfig.Runtime).toBe(engineDefault);
    await session.close();
  });

  test('mode "gvisor" asks for runsc: a kernel boundary with it, SANDBOX_UNAVAILABLE saying how to install it without', async () => {
    const sandbox = make({ mode: "gvisor", poolSize: 0 });
    expect(sandbox.settings.runtime).toBe("runsc");
    const caps = await sandbox.capabilities();
    expect(caps.isolation).toBe("kernel");
    if ((await engineRuntimes()).includes("runsc")) {
      // gvisor.conformance.test.ts runs the whole suite there.
      expect(caps).toMatchObject({ available: true, details: { runtime: "runsc" } });
      return;
    }
    expect(caps.available).toBe(false);
    expect(caps.reason).toContain('no OCI runtime "runsc"');
    expect(caps.reason).toContain("docs/guides/gvisor.md");
    const error = await sandbox.open().catch((e: unknown) => e);
    expect(hasErrorCode(error, ErrorCodes.SANDBOX_UNAVAILABLE)).toBe(true);
    expect((error as Error).message).toMatch(
      /has no OCI runtime "runsc" \(it has: .*crun.*runc.*\)/,
    );
    expect((await containersOf(sandbox.instance)).length).toBe(0);
  });

  test("any other missing runtime is refused the same way", async () => {
    const sandbox = make({ runtime: "kata-nonexistent", poolSize: 0 });
    await expect(sandbox.open()).rejects.toMatchObject({
      code: ErrorCodes.SANDBOX_UNAVAILABLE,
      message: expect.stringContaining('no OCI runtime "kata-nonexistent"'),
    });
  });

  test("the SandboxFactory maps mode names: docker, and gvisor = runsc", async () => {
    const defaults = {
      timeoutMs: 10_000,
      maxMemoryMb: 96,
      maxOutputBytes: 1024 * 1024,
      maxLogBytes: 16 * 1024,
    };
    const dockerMode = (await createSandbox({ mode: "docker", defaults })) as DockerSandbox;
    const gvisorMode = (await createSandbox({ mode: "gvisor", defaults })) as DockerSandbox;
    sandboxes.push(dockerMode, gvisorMode);
    expect(dockerMode.mode).toBe("docker");
    expect(dockerMode.settings).toMatchObject({ runtime: undefined, maxMemoryMb: 96 });
    expect(gvisorMode.mode).toBe("gvisor");
    expect(gvisorMode.settings.runtime).toBe("runsc");
  });
});
