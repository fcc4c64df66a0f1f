import { randomBytes } from 'node:crypto';
import postgres, { type Sql } from 'postgres';
import { XRayClient } from '@aws-sdk/client-xray';
import { applyMigrations } from '../../src/traces/store/migrations.js';
import { traceStore, type TraceStore, type TraceStoreOptions } from '../../src/traces/store/store.js';

/** The PostgreSQL tests use: TEST_DATABASE_URL, else the machine's, as user postgres. */
export const databaseUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A client of the test PostgreSQL; the caller ends it. */
export const testSql = (max = 4): Sql => postgres(databaseUrl, { max, onnotice: () => undefined });

/** A trace store in a schema of its own, migrated; `drop()` drops the schema and ends the client. */
export interface TestTraceStore {
  sql: Sql;
  store: TraceStore;
  schema: string;
  drop(): Promise<void>;
}

export async function openTestStore(tag: string, options: Omit<TraceStoreOptions, 'schema'> = {}): Promise<TestTraceStore> {
  const sql = testSql();
  const schema = `test_${tag}_${randomBytes(4).toString('hex')}`;
  const store = traceStore(sql, { schema, ...options });
  await applyMigrations(store);
  return {
    sql,
    store,
    schema,
    drop: async () => {
      await sql.unsafe(`drop schema if exists "${schema}" cascade`);
      await sql.end();
    },
  };
}

/** @aws-sdk/client-xray pointed at one of our servers, without retries (a test sees the first answer). */
export function xrayClient(endpoint: string): XRayClient {
  return new XRayClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, maxAttempts: 1 });
}

/** A seeded generator of hex strings (a small LCG), for trace and entity ids that are the same every run. */
export function seededHex(seed: number): (n: number) => string {
  let s = seed;
  return (n) =>
    Array.from({ length: n }, () => {
      s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
      return ((s >>> 16) & 15).toString(16);
    }).join('');
}
