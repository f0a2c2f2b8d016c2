import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Pulumi's mock runtime is process-global state: one file per worker, tests in order.
    pool: "forks",
    projects: [
      { extends: true, test: { name: "unit", include: ["test/**/*.test.ts"], exclude: ["test/lab/**"], fileParallelism: true } },
      // The labs measure real packets and timings, and the estate lab fills every core: they run
      // after the rest, one file at a time.
      { extends: true, test: { name: "lab", include: ["test/lab/**/*.test.ts"], fileParallelism: false, sequence: { groupOrder: 1 } } },
    ],
  },
});
