import type { Sql } from 'postgres';
import { AppError } from '../../util/errors.js';

/** Options of the trace store; the composition root fills them from the environment. */
export interface TraceStoreOptions {
  /**
   * PostgreSQL schema holding the store's tables; created by the migrations. Tests use a random one.
   * @defaultValue `'trace_store'`
   */
  schema?: string;
  /**
   * How long documents are kept (TRACE_RETENTION_SECONDS); whole daily partitions are dropped once
   * their last second is older than this.
   * @defaultValue 7 days
   */
  retentionSeconds?: number;
  /**
   * Documents per INSERT statement. PostgreSQL allows 65 535 bind parameters per statement and a
   * document row takes 23, so 1 000 is safely below the limit while keeping round trips few.
   * @defaultValue 500
   */
  batchSize?: number;
}

export interface ResolvedTraceStoreOptions {
  readonly schema: string;
  readonly retentionSeconds: number;
  readonly batchSize: number;
}

/** A client and the schema it works in: every statement names its tables with this schema. */
export interface TraceStore {
  readonly sql: Sql;
  readonly options: ResolvedTraceStoreOptions;
}

// Identifiers are interpolated into DDL (partition names), so only plain lower-case names are allowed.
const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,47}$/;

/** Resolves defaults and checks the schema name; throws on bad configuration. */
export function withDefaults(options: TraceStoreOptions = {}): ResolvedTraceStoreOptions {
  const schema = options.schema ?? 'trace_store';
  if (!SCHEMA_RE.test(schema)) throw new AppError('BAD_CONFIG', `trace store schema must match ${SCHEMA_RE}: ${schema}`);
  const retentionSeconds = options.retentionSeconds ?? 7 * 24 * 3600;
  if (!(retentionSeconds > 0)) throw new AppError('BAD_CONFIG', 'trace retention must be positive');
  const batchSize = options.batchSize ?? 500;
  if (!(batchSize >= 1 && batchSize <= 1000)) throw new AppError('BAD_CONFIG', 'trace store batchSize must be 1..1000');
  return Object.freeze({ schema, retentionSeconds, batchSize });
}

/** Binds a client to resolved options. The caller owns the client and ends it. */
export function traceStore(sql: Sql, options: TraceStoreOptions = {}): TraceStore {
  return Object.freeze({ sql, options: withDefaults(options) });
}

/** `"schema"."name"`, safe because the schema was checked by withDefaults and names are ours. */
export function qualified(store: TraceStore, name: string): string {
  return `"${store.options.schema}"."${name}"`;
}
