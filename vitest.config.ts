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
      // the same tests again on a real 3-master Redis Cluster the set-up starts (issue 12): ingest and the
      // official SDK, exactly-once with a killed worker, replay determinism, insights and webhooks
      {
        test: {
          name: 'cluster',
          include: [
            'test/cluster/**/*.test.ts',
            'test/compat/xray-sdk.test.ts',
            'test/integration/exactly-once.test.ts',
            'test/integration/replay-determinism.test.ts',
            'test/integration/webhooks-insights.test.ts',
          ],
          globalSetup: ['test/cluster/setup.ts'],
          // this project's workers only: they take the cluster's target from the set-up (test/helpers/redis.ts)
          env: { TEST_ON_CLUSTER: '1' },
          testTimeout: 240_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
      // a real browser (Debian's chromium) against a running product: one file at a time
      { test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 240_000, fileParallelism: false } },
    ],
  },
});
