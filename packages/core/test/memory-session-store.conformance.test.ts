import { createMemorySessionStore } from "../src/index.js";
import { describeSessionStore } from "../src/testing/index.js";

describeSessionStore("memory", () => createMemorySessionStore({ maxSessionBytes: 64 * 1024 }), {
  maxSessionBytes: 64 * 1024,
});
