import { describeSandbox } from "@mcp-optimizer/core/testing";
import { afterAll, beforeAll, describe, test } from "vitest";
import { createDockerSandbox } from "../src/index.js";
import { expectNoContainersLeft, requireDocker } from "./helpers.js";

describe("a Docker engine", () => {
  test("answers (start one if this fails: the message says how)", requireDocker);
});

describeSandbox("docker", () => createDockerSandbox({ poolSize: 1 }));

// The runtime switch, under the whole suite: .ci/setup/30-docker.sh registers Debian's crun.
describeSandbox("docker with the crun runtime", () =>
  createDockerSandbox({ runtime: "crun", poolSize: 1 }),
);

describe("after the conformance suites", () => {
  beforeAll(requireDocker);
  afterAll(expectNoContainersLeft);
  test("every sandbox closed", () => {});
});
