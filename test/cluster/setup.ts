import type { TestProject } from 'vitest/node';
import { canStartCluster, startCluster, type TestCluster } from '../helpers/cluster.js';

/**
 * Global set-up of the `cluster` test project: a real 3-master Redis Cluster on free loopback ports.
 * Its target reaches this project's tests only (provide/inject, read by test/helpers/redis.ts), never
 * the other projects running beside it: setting an environment variable here would move them all.
 */
let cluster: TestCluster | undefined;

declare module 'vitest' {
  export interface ProvidedContext {
    clusterTarget: string;
  }
}

export async function setup(project: TestProject): Promise<void> {
  if (!canStartCluster()) throw new Error('the cluster tests need redis-server and redis-cli (apt-get install redis-server redis-tools)');
  cluster = await startCluster(3);
  project.provide('clusterTarget', cluster.target);
}

export async function teardown(): Promise<void> {
  await cluster?.stop();
}
