import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Pulumi's mock runtime is process-global state: one file per worker, tests in order.
    pool: "forks",
    fileParallelism: true,
  },
});
