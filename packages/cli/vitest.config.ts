import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Every test starts the built bin and real MCP servers: two cores, one file at a time.
    fileParallelism: false,
  },
});
