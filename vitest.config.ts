import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 20_000 } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 240_000,
          hookTimeout: 60_000,
          // heavy multi-process tests share 2 cores: run files one at a time
          fileParallelism: false,
        },
      },
      { test: { name: 'compat', include: ['test/compat/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 60_000, fileParallelism: false } },
      // a real browser (Debian's chromium) against a running product: one file at a time
      { test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 240_000, fileParallelism: false } },
    ],
  },
});
