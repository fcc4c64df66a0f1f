import { qualified, type TraceStore } from './store.js';

/** The partitioned tables; each gets the same daily partitions. */
const TABLES = ['documents', 'traces'] as const;
const DAY_SECONDS = 86_400;
// Same two-int lock space as the migrations, another first key: DDL on partitions is serialised
// per schema, because two `create table if not exists … partition of` can collide on the catalog.
const PARTITION_LOCK = 0x7472_6170; // "trap"

/** UTC day number (days since the epoch) of epoch seconds. */
export function dayOf(epochSeconds: number): number {
  return Math.floor(epochSeconds / DAY_SECONDS);
}

/** `documents_p20261207`: the partition of `table` holding UTC day `day`. */
export function partitionName(table: string, day: number): string {
  return `${table}_p${new Date(day * DAY_SECONDS * 1000).toISOString().slice(0, 10).replaceAll('-', '')}`;
}

function dayFromName(name: string): number | undefined {
  const m = /_p(\d{4})(\d{2})(\d{2})$/.exec(name);
  if (!m) return undefined;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / 1000 / DAY_SECONDS;
}

const known = new WeakMap<TraceStore, Set<number>>();

/**
 * Makes sure both tables have a partition for each of `days` (UTC day numbers). Idempotent and safe
 * to call from many processes; days already made by this process cost nothing.
 */
export async function ensurePartitions(store: TraceStore, days: Iterable<number>): Promise<number[]> {
  let seen = known.get(store);
  if (!seen) known.set(store, (seen = new Set()));
  const missing = [...new Set(days)].filter((d) => !seen.has(d)).sort((a, b) => a - b);
  if (missing.length === 0) return [];
  const { schema } = store.options;
  const created = await store.sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${PARTITION_LOCK}::int4, hashtext(${schema}::text))`;
    const made: number[] = [];
    for (const day of missing) {
      let any = false;
      for (const table of TABLES) {
        const name = partitionName(table, day);
        const exists = await tx`select 1 from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = ${schema}::text and c.relname = ${name}::text`;
        if (exists.length > 0) continue;
        const from = new Date(day * DAY_SECONDS * 1000).toISOString();
        const to = new Date((day + 1) * DAY_SECONDS * 1000).toISOString();
        await tx.unsafe(`create table ${qualified(store, name)} partition of ${qualified(store, table)} for values from ('${from}') to ('${to}')`);
        any = true;
      }
      if (any) made.push(day);
    }
    return made;
  });
  for (const d of missing) seen.add(d);
  return created;
}

/** Forgets which partitions this process made (after they were dropped behind its back). */
export function forgetPartitions(store: TraceStore): void {
  known.delete(store);
}

/**
 * Drops every daily partition whose whole day ended more than the retention before `now` (epoch
 * seconds; passed in so replays and tests choose their clock). Returns the dropped table names.
 */
export async function dropExpiredPartitions(store: TraceStore, now: number = Date.now() / 1000): Promise<string[]> {
  const { schema, retentionSeconds } = store.options;
  const cutoff = now - retentionSeconds;
  const dropped = await store.sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${PARTITION_LOCK}::int4, hashtext(${schema}::text))`;
    const rows = await tx<{ name: string }[]>`
      select c.relname as name from pg_inherits i
        join pg_class c on c.oid = i.inhrelid
        join pg_class p on p.oid = i.inhparent
        join pg_namespace n on n.oid = p.relnamespace
      where n.nspname = ${schema}::text and p.relname = any(${[...TABLES]}::text[])`;
    const out: string[] = [];
    for (const { name } of rows) {
      const day = dayFromName(name);
      if (day === undefined || (day + 1) * DAY_SECONDS > cutoff) continue;
      await tx.unsafe(`drop table if exists ${qualified(store, name)}`);
      out.push(name);
    }
    return out.sort();
  });
  const seen = known.get(store);
  for (const name of dropped) seen?.delete(dayFromName(name)!);
  return dropped;
}
