import { createProcessSandbox } from "../src/index.js";
import { describeSandbox } from "../src/testing/index.js";

describeSandbox("process", () => createProcessSandbox({ poolSize: 1 }));
describeSandbox("process without namespaces", () =>
  createProcessSandbox({ namespaces: "off", poolSize: 0 }),
);
