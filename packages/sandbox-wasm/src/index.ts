export { createSandbox } from "./create-sandbox.js";
export { guestShimsSource, type ShimNative, type TimerController } from "./guest-shims.js";
export { createWasmSandbox, type EngineInfo, WasmSandbox } from "./wasm-sandbox.js";
export {
  defaultWasmPath,
  type WasmSandboxOptions,
  type WasmSandboxSettings,
} from "./wasm-sandbox-options.js";
export { WasmSandboxSession } from "./wasm-sandbox-session.js";
