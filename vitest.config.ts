import { defineConfig } from "vitest/config";

// Two projects so `vitest run --project unit` gives fast feedback without NATS/PostgreSQL.
// Integration and end-to-end files share one NATS server and one PostgreSQL server; each
// file creates its own database and stream names, so files may run in parallel.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: [
            "libs/**/*.unit.test.ts",
            "services/**/*.unit.test.ts",
            "infra/**/*.unit.test.ts",
            "cli/**/*.unit.test.ts",
          ],
        },
      },
      {
        test: {
          name: "integration",
          include: [
            "libs/**/*.int.test.ts",
            "services/**/*.int.test.ts",
            "infra/**/*.int.test.ts",
            "cli/**/*.int.test.ts",
            "test/**/*.e2e.test.ts",
          ],
          globalSetup: ["libs/testing/src/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          maxWorkers: 2,
          // Projects with different maxWorkers need their own group: unit files run first, then these.
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
