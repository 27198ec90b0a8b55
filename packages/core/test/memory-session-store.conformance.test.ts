import { createMemorySessionStore } from "../src/index.js";
import { describeSessionStore } from "../src/testing/index.js";

describeSessionStore("memory", () => createMemorySessionStore());
