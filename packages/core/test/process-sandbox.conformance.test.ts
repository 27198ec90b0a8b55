import { createProcessSandbox } from "../src/index.js";
import { describeSandbox } from "../src/testing/index.js";

describeSandbox("process", () => createProcessSandbox({ poolSize: 1 }));
// The hostile suites for this variant run in hostile-*.test.ts, next to its own checks.
describeSandbox(
  "process without namespaces",
  () => createProcessSandbox({ namespaces: "off", poolSize: 0 }),
  { hostile: false },
);
