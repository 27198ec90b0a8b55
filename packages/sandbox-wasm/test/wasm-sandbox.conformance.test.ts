import { describeSandbox } from "@mcp-optimizer/core/testing";
import { createWasmSandbox } from "../src/index.js";

describeSandbox("wasm", () => createWasmSandbox({ poolSize: 1 }));
describeSandbox("wasm without a pool", () => createWasmSandbox({ poolSize: 0 }));
