import { useJson, useNow } from '../api.js';
import { RangePicker } from '../components/range-picker.js';
import { formatDuration, parseRange, rangeQuery, type TimeRange } from '../lib/time-axis.js';
import { insightDuration } from '../lib/insight-view.js';
import { labelOf, type InsightsResponse } from '../lib/types.js';
import { linkClick, navigate } from '../router.js';

export const fmtTime = (t: number) => new Date(t * 1000).toLocaleString();

/** Insights of a range, active first, then by start: what went wrong, where it started, how much it hurt. */
export function InsightsPage(props: { query: string }) {
  const q = new URLSearchParams(props.query);
  const state = q.get('state') === 'ACTIVE' || q.get('state') === 'CLOSED' ? q.get('state')! : '';
  const initial = parseRange(props.query.includes('last=') || props.query.includes('from=') ? props.query : 'last=86400', Math.floor(Date.now() / 1000));
  const now = useNow(initial.live);
  const range: TimeRange = initial.live ? { from: now - (initial.last ?? 86400), to: now, live: true, last: initial.last } : initial;
  const go = (r: TimeRange, s: string) => navigate(`/insights?${rangeQuery(r)}${s ? `&state=${s}` : ''}`, true);
  const res = useJson<InsightsResponse>(`/v1/console/insights?from=${Math.floor(range.from)}&to=${Math.ceil(range.to)}${state ? `&state=${state}` : ''}`);
  const list = res.data?.insights ?? [];
  return (
    <main>
      <div class="toolbar">
        <h1>Insights</h1>
        <RangePicker range={range} onChange={(r) => go(r, state)} updatedAt={res.at} />
        <label>
          State{' '}
          <select value={state} onChange={(e) => go(range, (e.currentTarget as HTMLSelectElement).value)}>
            <option value="">Active and closed</option>
            <option value="ACTIVE">Active</option>
            <option value="CLOSED">Closed</option>
          </select>
        </label>
      </div>
      {res.error && <p class="error" role="alert">Could not load insights: {res.error}</p>}
      {!res.data && !res.error && <p class="muted">Loading insights…</p>}
      {res.data && !list.length && <p class="empty">No insights in this range{state ? ` in state ${state}` : ''}.</p>}
      {list.length > 0 && (
        <table class="insights">
          <thead>
            <tr>
              <th scope="col">State</th>
              <th scope="col">Started</th>
              <th scope="col">Duration</th>
              <th scope="col">Categories</th>
              <th scope="col">Root cause</th>
              <th scope="col">Client impact</th>
              <th scope="col">Summary</th>
            </tr>
          </thead>
          <tbody>
            {list.map((i) => {
              const root = i.rootCauseCandidates[0]?.service;
              const c = i.clientRequestImpactStatistics;
              return (
                <tr key={i.id} data-insight={i.id}>
                  <td><span class={`state ${i.state.toLowerCase()}`}>{i.state === 'ACTIVE' ? '● Active' : '○ Closed'}</span></td>
                  <td>{fmtTime(i.startTime)}</td>
                  <td>{formatDuration(insightDuration(i, now))}{i.state === 'ACTIVE' ? ' so far' : ''}</td>
                  <td>{i.categories.join(', ')}</td>
                  <td class="root-cause-cell">{root ? labelOf(root) : '–'}</td>
                  <td>{c.totalCount ? `${c.faultCount} of ${c.totalCount} faulted` : '–'}</td>
                  <td>
                    <a href={`/insights/${i.id}`} onClick={linkClick}>{i.summary}</a>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </main>
  );
}
