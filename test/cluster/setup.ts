import { canStartCluster, startCluster, type TestCluster } from '../helpers/cluster.js';

/**
 * Global set-up of the `cluster` test project: a real 3-master Redis Cluster on free loopback ports,
 * which the project's tests (the same files the other projects run) use through TEST_REDIS_URL.
 */
let cluster: TestCluster | undefined;

export async function setup(): Promise<void> {
  if (!canStartCluster()) throw new Error('the cluster tests need redis-server and redis-cli (apt-get install redis-server redis-tools)');
  cluster = await startCluster(3);
  process.env.TEST_REDIS_URL = cluster.target;
  process.env.TEST_ON_CLUSTER = '1';
}

export async function teardown(): Promise<void> {
  await cluster?.stop();
}
