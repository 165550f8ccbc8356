import { defineConfig } from "vitest/config";

// Two projects: unit tests sit next to the code and run in parallel; end-to-end tests start real
// livekit-server, redis and haproxy processes, so they run one file at a time on this 2-core machine.
export default defineConfig({
  test: {
    reporters: ["default", "./scripts/vitest-summary-reporter.ts"],
    globalSetup: ["./scripts/vitest-tmpdir.ts"],
    projects: [
      {
        test: {
          name: "unit",
          include: ["packages/*/src/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "e2e",
          include: ["packages/*/test/**/*.e2e.test.ts"],
          // @ts-expect-error vitest 3.2's ProjectConfig type omits it, yet it holds per project: the
          // e2e files' durations add up to the suite's (one file at a time, measured)
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
