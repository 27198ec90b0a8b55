import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Each file runs in its own worker, so each has its own OpenTelemetry globals.
    isolate: true,
  },
});
