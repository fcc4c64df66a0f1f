import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../src/util/net.js';
import { clusterTarget } from '../../src/redis/target.js';

/** A real Redis Cluster of `masters` redis-servers on free loopback ports, made by redis-cli. */
export interface TestCluster {
  /** `redis-cluster://127.0.0.1:p1,…` */
  target: string;
  ports: number[];
  /** Kills every node and deletes their files. */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function ping(port: number): Promise<boolean> {
  const r = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

async function clusterOk(port: number): Promise<boolean> {
  const r = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return String(await r.cluster('INFO')).includes('cluster_state:ok');
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

/** A master, or a replica whose link to its master is up (its first sync done). */
async function replicaSynced(port: number): Promise<boolean> {
  const r = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
    const info = await r.info('replication');
    return info.includes('role:master') || info.includes('master_link_status:up');
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

/** Whether redis-server and redis-cli are installed (the cluster tests need both). */
export function canStartCluster(): boolean {
  return ['redis-server', 'redis-cli'].every((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0);
}

/** A cluster node: its port and the process, which a test may kill. */
export interface ClusterProcess {
  port: number;
  child: ChildProcess;
}

export async function startCluster(masters = 3, opts: { replicas?: number } = {}): Promise<TestCluster & { nodes: ClusterProcess[] }> {
  const replicas = opts.replicas ?? 0;
  const dir = mkdtempSync(join(tmpdir(), 'ti-cluster-'));
  const ports: number[] = [];
  const children: ChildProcess[] = [];
  for (let i = 0; i < masters * (1 + replicas); i++) {
    const port = await freePort();
    ports.push(port);
    children.push(
      spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '2000', '--dir', dir, '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'], { stdio: 'ignore' }),
    );
  }
  for (const p of ports) for (let i = 0; i < 100 && !(await ping(p)); i++) await sleep(50);
  const create = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', String(replicas), '--cluster-yes'], { encoding: 'utf8' });
  if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stderr || create.stdout}`);
  for (const p of ports) for (let i = 0; i < 200 && !(await clusterOk(p)); i++) await sleep(50);
  // a replica that never finished its first sync refuses to fail over (its data is "too old"): wait for
  // every replica's link, so a test that kills a master sees the failover Redis promises
  if (replicas > 0) for (const p of ports) for (let i = 0; i < 200 && !(await replicaSynced(p)); i++) await sleep(50);
  return {
    target: clusterTarget(ports.map((p) => `127.0.0.1:${p}`)),
    ports,
    nodes: ports.map((port, i) => ({ port, child: children[i]! })),
    stop: async () => {
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.exitCode !== null || c.signalCode !== null) return resolve(); // a node a test killed has gone already
              c.once('exit', () => resolve());
              c.kill('SIGKILL');
            }),
        ),
      );
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
