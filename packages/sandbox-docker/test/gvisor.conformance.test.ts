import { execFileSync } from "node:child_process";
import { ErrorCodes, hasErrorCode } from "@mcp-optimizer/core";
import { describeSandbox } from "@mcp-optimizer/core/testing";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createDockerSandbox, type DockerSandbox } from "../src/index.js";
import {
  containersOf,
  docker,
  engineRuntimes,
  expectNoContainersLeft,
  job,
  nullHost,
  requireDocker,
} from "./helpers.js";

/**
 * Mode "gvisor" for real: the docker sandbox on gVisor's runsc. .ci/setup/30-docker.sh installs
 * Debian's runsc and registers it (ptrace platform, no network stack). Where the engine has no
 * runsc, the mode must refuse with SANDBOX_UNAVAILABLE instead (and a machine that has the
 * runsc binary but did not register it fails in CI, so that the suite cannot silently vanish).
 */
const runtimes = await engineRuntimes().catch(() => [] as string[]);
const hasRunsc = runtimes.includes("runsc");
const runscInstalled = (() => {
  try {
    execFileSync("runsc", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

describe("gVisor on this engine", () => {
  beforeAll(requireDocker);

  test.runIf(process.env.CI === "true" && runscInstalled)(
    "runsc is installed here, so the engine must have it registered (.ci/setup/30-docker.sh)",
    () => {
      expect(runtimes, "register runsc in /etc/docker/daemon.json and reload dockerd").toContain(
        "runsc",
      );
    },
  );

  describe.runIf(hasRunsc)("with runsc registered", () => {
    const sandbox: DockerSandbox = createDockerSandbox({
      mode: "gvisor",
      poolSize: 0,
      nodeApis: true,
    });
    afterAll(async () => {
      await sandbox?.close();
      await expectNoContainersLeft();
    });

    test("containers run under runsc and see gVisor's kernel, not the host's", async () => {
      const caps = await sandbox.capabilities();
      expect(caps).toMatchObject({
        available: true,
        isolation: "kernel",
        details: { runtime: "runsc" },
      });
      const session = await sandbox.open();
      const out = await session.execute(
        job(`
          const fs = process.getBuiltinModule("node:fs");
          return { version: fs.readFileSync("/proc/version", "utf8"), uid: process.getuid() };
        `),
        nullHost,
      );
      const [container] = await containersOf(sandbox.instance);
      // The container of a nodeApis session is removed after its run; the pool is empty.
      if (container) {
        const info = await docker.getContainer(container.Id).inspect();
        expect(info.HostConfig.Runtime).toBe("runsc");
      }
      const hostKernel = execFileSync("uname", ["-r"], { encoding: "utf8" }).trim();
      const { version, uid } = out.value as { version: string; uid: number };
      expect(version).not.toContain(hostKernel);
      expect(uid).toBe(65534);
      await session.close();
    });
  });

  describe.runIf(!hasRunsc)("without runsc", () => {
    test('mode "gvisor" is refused with SANDBOX_UNAVAILABLE saying how to install it', async () => {
      const sandbox = createDockerSandbox({ mode: "gvisor", poolSize: 0 });
      try {
        const caps = await sandbox.capabilities();
        expect(caps.available).toBe(false);
        expect(caps.isolation).toBe("kernel");
        expect(caps.reason).toContain('no OCI runtime "runsc"');
        const error = await sandbox.open().catch((e: unknown) => e);
        expect(hasErrorCode(error, ErrorCodes.SANDBOX_UNAVAILABLE)).toBe(true);
      } finally {
        await sandbox.close();
      }
    });
  });
});

// The whole contract and the hostile suites under gVisor. ptrace makes every system call
// slow: longer per-test and hostile timeouts, the rest as for docker.
if (hasRunsc) {
  describeSandbox("gvisor", () => createDockerSandbox({ mode: "gvisor", poolSize: 1 }), {
    testTimeoutMs: 180_000,
    shortTimeoutMs: 2_000,
    hostileOptions: { shortTimeoutMs: 3_000 },
  });
}
