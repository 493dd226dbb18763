import { defineConfig } from 'vitest/config';

export const config = defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/replay/**/*.test.ts'],
          environment: 'node',
          setupFiles: ['test/support/quiet-temporal.ts', 'test/support/dev-stack.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          // Against the real local stack (started by scripts/test.sh): one file at a time, they share it.
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          environment: 'node',
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
          setupFiles: ['test/support/quiet-temporal.ts', 'test/support/dev-stack.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});

// Vitest loads the default export of its config file.

export default config;
