import {
  createHybridSandbox,
  createProcessSandbox,
  type HybridDecision,
  type Sandbox,
  type SandboxSession,
} from "@mcp-optimizer/core";
import { describeSandbox } from "@mcp-optimizer/core/testing";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createDockerSandbox } from "../src/index.js";
import { engineRuntimes, expectNoContainersLeft, job, nullHost, requireDocker } from "./helpers.js";

// The whole contract through the hybrid, routed to the real docker sandbox.
describeSandbox("hybrid over docker and process", () =>
  createHybridSandbox({
    sandboxes: {
      docker: createDockerSandbox({ poolSize: 1 }),
      process: createProcessSandbox({ poolSize: 0 }),
    },
    defaultModes: ["docker", "process"],
  }),
);

/** Where the guest runs: a container (uid nobody, a container id in its mounts) or a host process. */
const whereCode = `
  let container = false;
  try {
    const fs = process.getBuiltinModule("node:fs");
    container = /\\/containers\\/[0-9a-f]{64}\\//.test(fs.readFileSync("/proc/self/mountinfo", "utf8"));
  } catch {}
  return container ? "container" : "not in a container";
`;

describe("hybrid routing with the real docker sandbox", () => {
  const hybrids: Sandbox[] = [];
  const sessions: SandboxSession[] = [];
  beforeAll(requireDocker);
  afterAll(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    await Promise.all(hybrids.map((h) => h.close()));
    await expectNoContainersLeft();
  });

  test("destructive, file and long-running executions go to a container; the rest stay in process", async () => {
    const decisions: HybridDecision[] = [];
    const hybrid = createHybridSandbox({
      sandboxes: {
        // Node's APIs inside, so that the program can tell it runs in a container.
        docker: createDockerSandbox({ poolSize: 1, nodeApis: true }),
        process: createProcessSandbox({ poolSize: 0 }),
      },
      // No wasm in this package's tests: "process" stands in as the light mode.
      defaultModes: ["wasm", "process"],
      onDecision: (d) => decisions.push(d),
    });
    hybrids.push(hybrid);
    const session = await hybrid.open({ sessionId: "hybrid-docker" });
    sessions.push(session);
    const plain = await session.execute(job(whereCode), nullHost);
    const destroy = await session.execute(
      job(whereCode, { hints: { mayDestroy: true } }),
      nullHost,
    );
    const files = await session.execute(job(whereCode, { hints: { needsFiles: true } }), nullHost);
    const long = await session.execute(job(whereCode, { hints: { longRunning: true } }), nullHost);
    const preferred = await session.execute(
      job(whereCode, { hints: { mayDestroy: true, preferMode: "process" } }),
      nullHost,
    );
    expect([plain, destroy, files, long, preferred].map((o) => [o.mode, o.value])).toEqual([
      ["process", "not in a container"],
      ["docker", "container"],
      ["docker", "container"],
      ["docker", "container"],
      ["process", "not in a container"],
    ]);
    expect(decisions.map((d) => `${d.rule}->${d.mode}`)).toEqual([
      "default->process",
      "container->docker",
      "container->docker",
      "container->docker",
      "container->process",
    ]);
  });

  test("gvisor: runs there when the engine has runsc, else falls back to docker and says why", async () => {
    const decisions: HybridDecision[] = [];
    const hybrid = createHybridSandbox({
      sandboxes: {
        gvisor: createDockerSandbox({ mode: "gvisor", poolSize: 0, nodeApis: true }),
        docker: createDockerSandbox({ poolSize: 0, nodeApis: true }),
        process: createProcessSandbox({ poolSize: 0 }),
      },
      onDecision: (d) => decisions.push(d),
    });
    hybrids.push(hybrid);
    const session = await hybrid.open();
    sessions.push(session);
    const out = await session.execute(job(whereCode, { hints: { mayDestroy: true } }), nullHost);
    if ((await engineRuntimes()).includes("runsc")) {
      expect(out.mode).toBe("gvisor");
      expect(out.notes).toBeUndefined();
      return;
    }
    expect(out.mode).toBe("docker");
    expect(out.value).toBe("container");
    expect(out.notes).toHaveLength(1);
    expect(out.notes![0]).toMatch(
      /^fell back from gvisor \(.*no OCI runtime "runsc".*\) to docker$/,
    );
    expect(decisions[0]!.fallbacks[0]!.mode).toBe("gvisor");
  });

  test("with no engine at all, risky work falls back to the process sandbox", async () => {
    const hybrid = createHybridSandbox({
      sandboxes: {
        docker: createDockerSandbox({ docker: "unix:///nonexistent/docker.sock" }),
        process: createProcessSandbox({ poolSize: 0 }),
      },
    });
    hybrids.push(hybrid);
    const session = await hybrid.open();
    sessions.push(session);
    const out = await session.execute(
      job("return 'ran'", { hints: { needsFiles: true } }),
      nullHost,
    );
    expect(out.mode).toBe("process");
    expect(out.notes![0]).toContain("fell back from docker");
    expect(out.notes![0]).toContain("Start a Docker engine");
  });
});
