import { defineConfig } from "vitest/config";

// Integration tests start real Mosquitto / InfluxDB / XS processes: keep parallelism modest
// on the 2-core CI machine and give them room for start-up.
export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    exclude: ["node_modules/**", "dist/**"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    maxWorkers: 2,
    reporters: ["default", "json"],
    outputFile: { json: "test-results/vitest.json" },
    allowOnly: false,
    setupFiles: ["test/helpers/setup-failure-flag.ts"],
    passWithNoTests: false,
  },
});
