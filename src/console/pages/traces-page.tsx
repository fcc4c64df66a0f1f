import { useEffect, useRef, useState } from 'preact/hooks';
import { postJson } from '../api.js';
import { RangePicker } from '../components/range-picker.js';
import { formatMillis, parseRange, rangeQuery, type TimeRange } from '../lib/time-axis.js';
import { summaryStatus, type TraceSummariesResponse, type XrayTraceSummary } from '../lib/trace-types.js';
import { linkClick, navigate } from '../router.js';

const STATUS_CLASS = { Fault: 'fault', Throttled: 'throttle', Error: 'error', OK: 'ok' } as const;

/** Trace search: X-Ray filter expressions over a time range, newest first, a page at a time. */
export function TracesPage(props: { query: string }) {
  const q = new URLSearchParams(props.query);
  const filter = q.get('filter') ?? '';
  const [draft, setDraft] = useState(filter);
  const [nowAtSearch] = useState(() => Math.floor(Date.now() / 1000));
  const range: TimeRange = parseRange(props.query.includes('last=') || props.query.includes('from=') ? props.query : 'last=3600', nowAtSearch);
  const [rows, setRows] = useState<XrayTraceSummary[]>([]);
  const [next, setNext] = useState<string | undefined>();
  const [processed, setProcessed] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [shownFilter, setShownFilter] = useState<string | null>(null);
  // only the latest search may fill the table (an older answer can arrive after a newer one)
  const seq = useRef(0);
  const go = (r: TimeRange, f: string) => navigate(`/traces?${rangeQuery(r)}${f ? `&filter=${encodeURIComponent(f)}` : ''}`);
  // a live range is taken at search time: results do not shift while someone reads them
  const body = (token?: string) => {
    const now = Math.floor(Date.now() / 1000);
    const r = range.live ? { from: now - (range.last ?? 3600), to: now } : range;
    return { StartTime: r.from, EndTime: r.to, ...(filter ? { FilterExpression: filter } : {}), ...(token ? { NextToken: token } : {}) };
  };
  const load = async (token?: string) => {
    const mine = ++seq.current;
    setLoading(true);
    setError(null);
    if (!token) {
      setRows([]);
      setShownFilter(null);
    }
    try {
      const res = await postJson<TraceSummariesResponse>('/TraceSummaries', body(token));
      if (mine !== seq.current) return;
      setRows((old) => (token ? [...old, ...res.TraceSummaries] : res.TraceSummaries));
      setNext(res.NextToken);
      setProcessed((p) => (token ? (p ?? 0) : 0) + (res.TracesProcessedCount ?? 0));
      setShownFilter(filter);
    } catch (e) {
      if (mine !== seq.current) return;
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      if (mine === seq.current) setLoading(false);
    }
  };
  useEffect(() => {
    setDraft(filter);
    void load();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [props.query]);
  return (
    <main>
      <div class="toolbar">
        <h1>Traces</h1>
        <RangePicker range={range} onChange={(r) => go(r, filter)} />
      </div>
      <form
        class="search"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          go(range, draft.trim());
        }}
      >
        <label for="filter">Filter expression</label>
        <input id="filter" name="filter" value={draft} onInput={(e) => setDraft((e.currentTarget as HTMLInputElement).value)} placeholder='e.g. fault = true AND service("PaymentService")' spellcheck={false} autocomplete="off" />
        <button type="submit">Search</button>
      </form>
      {error && <p class="error" role="alert">{error}</p>}
      {loading && !rows.length && <p class="muted">Searching…</p>}
      {!loading && !error && !rows.length && shownFilter !== null && <p class="empty">No traces {filter ? 'match this filter ' : ''}in this range.</p>}
      {rows.length > 0 && (
        <>
          <p class="muted small">
            {rows.length} trace{rows.length > 1 ? 's' : ''} shown, newest first{processed !== null ? `; ${processed} traces of the range looked at` : ''}.
          </p>
          <table class="traces-list" data-filter={shownFilter ?? undefined} aria-busy={loading}>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Response time</th>
                <th scope="col">Status</th>
                <th scope="col">Method and URL</th>
                <th scope="col">Services</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((t) => {
                const status = summaryStatus(t);
                return (
                  <tr key={t.Id} data-trace={t.Id} data-status={status}>
                    <td>
                      <a href={`/traces/${t.Id}`} onClick={linkClick}>{t.StartTime !== undefined ? new Date(t.StartTime * 1000).toLocaleString() : t.Id}</a>
                    </td>
                    <td>{t.ResponseTime !== undefined ? formatMillis(t.ResponseTime * 1000) : t.Duration !== undefined ? formatMillis(t.Duration * 1000) : '–'}</td>
                    <td>
                      <span class={`outcome ${STATUS_CLASS[status]}`}>{status}</span>
                      {t.Http?.HttpStatus !== undefined ? ` ${t.Http.HttpStatus}` : ''}
                      {t.IsPartial ? ' (partial)' : ''}
                    </td>
                    <td class="url">{[t.Http?.HttpMethod, t.Http?.HttpURL].filter(Boolean).join(' ') || '–'}</td>
                    <td>{(t.ServiceIds ?? []).map((s) => s.Name).filter(Boolean).join(', ')}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {next && (
            <button type="button" disabled={loading} onClick={() => void load(next)}>
              {loading ? 'Loading…' : 'More traces'}
            </button>
          )}
        </>
      )}
    </main>
  );
}
