import { createProcessSandbox } from "../src/index.js";
import { describeHostileValues } from "../src/testing/index.js";

// The shared suite without namespaces; describeSandbox runs it with them.
describeHostileValues("process without namespaces", () =>
  createProcessSandbox({ namespaces: "off", poolSize: 1 }),
);
