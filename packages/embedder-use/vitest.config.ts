import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The model loads once per worker thread (about a second) and embeds ~15-70 ms per text.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
