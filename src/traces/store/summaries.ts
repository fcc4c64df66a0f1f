import type { TransactionSql } from 'postgres';
import { qualified, type TraceStore } from './store.js';

/**
 * Takes the per-trace advisory locks of `traceIds` for the transaction, in one fixed order (so two
 * writers cannot deadlock). Writers take them before touching a trace's rows; the retention sweep tries
 * the same keys without waiting.
 */
export async function lockTraces(tx: TransactionSql, traceIds: readonly string[]): Promise<void> {
  if (traceIds.length === 0) return;
  await tx`select pg_advisory_xact_lock(k) from (
    select distinct hashtextextended(x, 0) as k from unnest(${traceIds as string[]}::text[]) x order by k) s`;
}

/** A trace, by its partition key and id. */
export interface TraceKey {
  trace_time: Date;
  trace_id: string;
}

/**
 * Recomputes the summary rows of `keys` from their documents' derived columns and upserts them.
 * Recomputing (rather than merging a delta) keeps a summary a pure function of the documents a trace
 * holds now: a resent batch changes nothing and a replaced placeholder takes its contribution with it.
 * Runs inside the writer's transaction after a per-trace advisory lock, so two writers of one trace
 * cannot store a summary that misses the other's documents.
 */
export async function recomputeSummaries(tx: TransactionSql, store: TraceStore, keys: readonly TraceKey[]): Promise<void> {
  if (keys.length === 0) return;
  const ids = keys.map((k) => k.trace_id);
  await lockTraces(tx, ids);
  const t = (n: string) => tx.unsafe(qualified(store, n));
  await tx`
    with touched as (
      select distinct u.tt::timestamptz as trace_time, u.trace_id
      from unnest(${keys.map((k) => k.trace_time.toISOString())}::text[], ${ids}::text[]) as u(tt, trace_id)
    ),
    d as (
      select d.*, case when d.kind = 'segment' then
        jsonb_build_object('name', d.service_name, 'type', d.service_type, 'account_id', d.account_id) end as svc
      from ${t('documents')} d join touched using (trace_time, trace_id)
    ),
    ann_v as (
      select trace_time, trace_id, a->>'k' as k, a->'v' as v,
        coalesce(jsonb_agg(distinct svc) filter (where svc is not null), '[]') as s
      from d cross join lateral jsonb_array_elements(d.annotations) a
      group by 1, 2, 3, 4
    ),
    ann as (
      select trace_time, trace_id, jsonb_object_agg(k, vs) as annotations from (
        select trace_time, trace_id, k, jsonb_agg(jsonb_build_object('value', v, 'services', s) order by v) as vs
        from ann_v group by 1, 2, 3
      ) x group by 1, 2
    ),
    usr as (
      select trace_time, trace_id, jsonb_agg(jsonb_build_object('user', user_name, 'services', s) order by user_name) as users from (
        select trace_time, trace_id, user_name, jsonb_agg(distinct svc) as s from d where user_name is not null group by 1, 2, 3
      ) x group by 1, 2
    ),
    agg as (
      select trace_time, trace_id,
        min(start_time) as start_time, max(end_time) as end_time,
        bool_or(fault) as has_fault, bool_or(error) as has_error, bool_or(throttle) as has_throttle,
        bool_or(in_progress) or not coalesce(bool_or(kind = 'segment' and parent_id is null), false) as is_partial,
        count(*)::int as document_count,
        coalesce(array_agg(distinct service_name) filter (where service_name is not null), '{}') as service_names,
        coalesce(jsonb_agg(distinct svc) filter (where svc is not null), '[]') as services
      from d group by 1, 2
    ),
    root as (
      select distinct on (trace_time, trace_id) trace_time, trace_id, id, service_name, service_type, start_time, end_time,
        http_method, http_url, http_status, user_agent, client_ip
      from d where kind = 'segment' and parent_id is null
      order by trace_time, trace_id, start_time, id
    )
    insert into ${t('traces')} as cur (
      trace_time, trace_id, start_time, end_time, duration, response_time, has_fault, has_error, has_throttle,
      is_partial, root_id, root_name, root_type, http_method, http_url, http_status, user_agent, client_ip,
      service_names, services, users, annotations, document_count)
    select a.trace_time, a.trace_id, a.start_time, a.end_time, a.end_time - a.start_time, r.end_time - r.start_time,
      a.has_fault, a.has_error, a.has_throttle, a.is_partial, r.id, r.service_name, r.service_type,
      r.http_method, r.http_url, r.http_status, r.user_agent, r.client_ip,
      a.service_names, a.services, coalesce(u.users, '[]'), coalesce(n.annotations, '{}'), a.document_count
    from agg a
      left join root r using (trace_time, trace_id)
      left join ann n using (trace_time, trace_id)
      left join usr u using (trace_time, trace_id)
    on conflict (trace_time, trace_id) do update set
      start_time = excluded.start_time, end_time = excluded.end_time, duration = excluded.duration,
      response_time = excluded.response_time, has_fault = excluded.has_fault, has_error = excluded.has_error,
      has_throttle = excluded.has_throttle, is_partial = excluded.is_partial, root_id = excluded.root_id,
      root_name = excluded.root_name, root_type = excluded.root_type, http_method = excluded.http_method,
      http_url = excluded.http_url, http_status = excluded.http_status, user_agent = excluded.user_agent,
      client_ip = excluded.client_ip, service_names = excluded.service_names, services = excluded.services,
      users = excluded.users, annotations = excluded.annotations, document_count = excluded.document_count,
      updated_at = now(), decided = false`;
}
