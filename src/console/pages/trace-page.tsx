import { useEffect, useMemo, useState } from 'preact/hooks';
import { postJson } from '../api.js';
import { HEALTH_COLOURS, HEALTH_LABELS } from '../lib/health.js';
import { formatMillis, niceStep } from '../lib/time-axis.js';
import type { BatchGetTracesResponse } from '../lib/trace-types.js';
import { buildWaterfall, exceptionsOf, spanDetails, type Span } from '../lib/waterfall.js';
import { linkClick } from '../router.js';

const pctOf = (x: number, total: number) => `${total > 0 ? (x / total) * 100 : 0}%`;

/** One trace as a waterfall: every segment and subsegment on one time axis; select one for its details. */
export function TracePage(props: { id: string }) {
  const [docs, setDocs] = useState<string[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  useEffect(() => {
    const ctl = new AbortController();
    postJson<BatchGetTracesResponse>('/Traces', { TraceIds: [props.id] }, ctl.signal).then(
      (r) => {
        const t = r.Traces.find((x) => x.Id === props.id);
        if (!t) setError(`trace ${props.id} is not in the trace store (expired, or never kept)`);
        else setDocs(t.Segments.map((s) => s.Document));
      },
      (e: unknown) => !ctl.signal.aborted && setError(e instanceof Error ? e.message : String(e)),
    );
    return () => ctl.abort();
  }, [props.id]);
  const w = useMemo(() => (docs ? buildWaterfall(docs) : null), [docs]);
  if (error) return <main><p class="error" role="alert">Could not load trace {props.id}: {error}</p></main>;
  if (!w) return <main><p class="muted">Loading trace…</p></main>;
  const totalMs = (w.end - w.start) * 1000;
  const step = niceStep(totalMs, 8);
  const ticks: number[] = [];
  for (let t = 0; t <= totalMs + 1e-9; t += step) ticks.push(t);
  const span = selected ? w.rows.find((r) => r.span.id === selected)?.span : undefined;
  const segments = w.rows.filter((r) => r.span.kind === 'segment');
  const faulty = w.rows.filter((r) => r.span.outcome !== 'ok').length;
  return (
    <main>
      <p><a href="/traces" onClick={linkClick}>← Traces</a></p>
      <h1>Trace <code>{props.id}</code></h1>
      <p class="muted">
        {new Date(w.start * 1000).toLocaleString()} · {formatMillis(totalMs)} · {segments.length} segment{segments.length === 1 ? '' : 's'} ({new Set(segments.map((r) => r.span.name)).size} services), {w.rows.length - segments.length} subsegments
        {faulty ? ` · ${faulty} with a fault, throttle or error` : ''}
      </p>
      <div class="waterfall" role="table" aria-label="Trace waterfall">
        <div class="wf-row wf-head" role="row">
          <div class="wf-name" role="columnheader">Entity</div>
          <div class="wf-bar-cell wf-axis" role="columnheader" aria-label="Time from the trace's start">
            {ticks.map((t) => (
              <span class="wf-tick" style={{ left: pctOf(t, totalMs) }}>
                {formatMillis(t)}
              </span>
            ))}
          </div>
        </div>
        {w.rows.map(({ span: s, depth }) => {
          const left = (s.start - w.start) * 1000;
          const dur = s.end === null ? null : (s.end - s.start) * 1000;
          const label = `${s.name}, ${s.kind}${s.kind === 'subsegment' ? ` of ${s.service}` : ''}: ${dur === null ? 'in progress' : formatMillis(dur)}, starts at ${formatMillis(left)}, ${HEALTH_LABELS[s.outcome]}${s.httpStatus !== undefined ? ` ${s.httpStatus}` : ''}`;
          return (
            <div
              key={s.id}
              class={`wf-row${selected === s.id ? ' selected' : ''} ${s.kind}`}
              role="row"
              tabIndex={0}
              aria-label={label}
              aria-selected={selected === s.id}
              data-span={s.id}
              data-kind={s.kind}
              data-outcome={s.outcome}
              onClick={() => setSelected(selected === s.id ? null : s.id)}
              onKeyDown={(e) => {
                if (e.key === 'Enter' || e.key === ' ') {
                  e.preventDefault();
                  setSelected(selected === s.id ? null : s.id);
                }
              }}
            >
              <div class="wf-name" role="cell" style={{ paddingLeft: `${6 + depth * 14}px` }} title={s.name}>
                {s.kind === 'segment' ? <strong>{s.name}</strong> : s.name}
                {s.outcome !== 'ok' && <span class={`outcome ${s.outcome}`}> {s.outcome === 'fault' ? '5xx fault' : s.outcome === 'throttle' ? '429 throttled' : '4xx error'}</span>}
              </div>
              <div class="wf-bar-cell" role="cell">
                <span
                  class={`wf-bar${dur === null ? ' open' : ''}`}
                  style={{ left: pctOf(left, totalMs), width: dur === null ? `calc(100% - ${pctOf(left, totalMs)})` : `max(2px, ${pctOf(dur, totalMs)})`, background: HEALTH_COLOURS[s.outcome] }}
                />
                <span class="wf-dur">{dur === null ? 'in progress' : formatMillis(dur)}{s.httpStatus !== undefined ? ` · ${s.httpStatus}` : ''}</span>
              </div>
            </div>
          );
        })}
      </div>
      {span && <SpanDetails span={span} traceStart={w.start} onClose={() => setSelected(null)} />}
    </main>
  );
}

function SpanDetails(props: { span: Span; traceStart: number; onClose: () => void }) {
  const s = props.span;
  const details = spanDetails(s);
  return (
    <section class="panel span-details" aria-label={`Details of ${s.name}`}>
      <header class="panel-head">
        <h2>
          {s.name} <span class="muted">{s.kind}{s.namespace ? ` · ${s.namespace}` : ''}{s.origin ? ` · ${s.origin}` : ''}</span>
        </h2>
        <button type="button" onClick={props.onClose}>Close</button>
      </header>
      <dl class="facts">
        <dt>Id</dt>
        <dd><code>{s.id}</code></dd>
        <dt>Outcome</dt>
        <dd>{HEALTH_LABELS[s.outcome]}{s.httpStatus !== undefined ? ` (HTTP ${s.httpStatus})` : ''}</dd>
        <dt>Starts</dt>
        <dd>{formatMillis((s.start - props.traceStart) * 1000)} after the trace's start</dd>
        <dt>Duration</dt>
        <dd>{s.end === null ? 'in progress' : formatMillis((s.end - s.start) * 1000)}</dd>
      </dl>
      {details.map(([k, v]) =>
        k === 'cause' ? (
          <div key={k}>
            <h3>cause</h3>
            {exceptionsOf(v).map((x) => (
              <div class="exception">
                <strong>{x.type ?? 'Exception'}</strong>{x.remote ? ' (remote)' : ''}: {x.message ?? ''}
                {x.stack.length > 0 && <pre>{x.stack.join('\n')}</pre>}
              </div>
            ))}
            {exceptionsOf(v).length === 0 && <pre>{JSON.stringify(v, null, 2)}</pre>}
          </div>
        ) : (
          <div key={k}>
            <h3>{k}</h3>
            <pre>{JSON.stringify(v, null, 2)}</pre>
          </div>
        ),
      )}
      {details.length === 0 && <p class="muted">No http, sql, aws, annotations, metadata or cause on this entity.</p>}
    </section>
  );
}
