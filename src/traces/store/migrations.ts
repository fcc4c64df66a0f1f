import type { TransactionSql } from 'postgres';
import { qualified, type TraceStore } from './store.js';

/** One schema change. `up` returns SQL naming every table through `t` (schema-qualified). */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly up: (t: (name: string) => string) => string;
}

/**
 * Every migration, in order. Never edit one that has shipped: add a new version.
 *
 * Both tables are range-partitioned by `trace_time`, the epoch in the trace id: every document of a
 * trace lands in the same daily partition whatever its own timestamps, so retention drops whole
 * traces, never half of one, and the primary key (trace_time, trace_id, …) makes a resent document
 * collide with its earlier copy. Every unique key holds trace_id, so a Citus user can
 * `create_distributed_table('documents', 'trace_id')` (and `traces`, co-located) without a rewrite.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'documents and traces',
    up: (t) => `
      create table ${t('documents')} (
        trace_time    timestamptz not null,
        trace_id      text not null,
        id            text not null,
        parent_id     text,
        kind          text not null check (kind in ('segment', 'subsegment')),
        name          text not null,
        service_name  text,
        service_type  text,
        account_id    text,
        start_time    double precision not null,
        end_time      double precision,
        in_progress   boolean not null,
        fault         boolean not null,
        error         boolean not null,
        throttle      boolean not null,
        user_name     text,
        http_method   text,
        http_url      text,
        http_status   integer,
        user_agent    text,
        client_ip     text,
        annotations   jsonb not null,
        doc           text not null,
        received_at   timestamptz not null default now(),
        primary key (trace_time, trace_id, id)
      ) partition by range (trace_time);
      create index documents_service_time on ${t('documents')} (service_name, start_time);

      create table ${t('traces')} (
        trace_time     timestamptz not null,
        trace_id       text not null,
        start_time     double precision not null,
        end_time       double precision,
        duration       double precision,
        response_time  double precision,
        has_fault      boolean not null,
        has_error      boolean not null,
        has_throttle   boolean not null,
        is_partial     boolean not null,
        root_id        text,
        root_name      text,
        root_type      text,
        http_method    text,
        http_url       text,
        http_status    integer,
        user_agent     text,
        client_ip      text,
        service_names  text[] not null,
        services       jsonb not null,
        users          jsonb not null,
        annotations    jsonb not null,
        document_count integer not null,
        updated_at     timestamptz not null default now(),
        primary key (trace_time, trace_id)
      ) partition by range (trace_time);
      create index traces_start on ${t('traces')} (start_time, trace_id);
      create index traces_services on ${t('traces')} using gin (service_names);
      create index traces_annotations on ${t('traces')} using gin (annotations jsonb_path_ops);
    `,
  },
  {
    version: 2,
    name: 'retention decisions',
    // A trace is decided by the tail-based retention rules once complete; a new document undoes that
    // (the writer sets decided = false), so the rules see the trace as it is in the end.
    up: (t) => `
      alter table ${t('traces')} add column decided boolean not null default false;
      create index traces_undecided on ${t('traces')} (updated_at) where not decided;
    `,
  },
];

// First key of the two-int advisory lock space; the second is hashtext(schema), so stores in
// different schemas migrate independently.
const MIGRATION_LOCK = 0x7472_6163; // "trac"

/** What applyMigrations did: the versions it applied (empty when the schema was up to date). */
export interface MigrationResult {
  applied: number[];
}

/**
 * Creates the schema and applies every pending migration, each in its own transaction under an
 * advisory lock, so processes starting together apply each migration exactly once.
 */
export async function applyMigrations(store: TraceStore, migrations: readonly Migration[] = MIGRATIONS): Promise<MigrationResult> {
  const { schema } = store.options;
  const t = (name: string) => qualified(store, name);
  const applied: number[] = [];
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    const did = await store.sql.begin(async (tx) => {
      await lock(tx, schema);
      const done = await tx.unsafe(`select 1 from ${t('schema_migrations')} where version = $1`, [m.version]);
      if (done.length > 0) return false;
      await tx.unsafe(m.up(t));
      await tx.unsafe(`insert into ${t('schema_migrations')} (version, name) values ($1, $2)`, [m.version, m.name]);
      return true;
    });
    if (did) applied.push(m.version);
  }
  return { applied };
}

/** Takes the schema's migration lock, then makes sure the schema and the ledger exist. */
async function lock(tx: TransactionSql, schema: string): Promise<void> {
  await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK}::int4, hashtext(${schema}::text))`;
  // Under the lock: two concurrent `create schema if not exists` can still collide on the catalog.
  await tx.unsafe(`
    create schema if not exists "${schema}";
    create table if not exists "${schema}"."schema_migrations" (
      version    integer primary key,
      name       text not null,
      applied_at timestamptz not null default now()
    );`);
}
