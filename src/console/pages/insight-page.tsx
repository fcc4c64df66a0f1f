import { useJson, useNow } from '../api.js';
import { ServiceGraph } from '../components/service-graph.js';
import { Timeline } from '../components/timeline.js';
import { eventChanges, evidenceFor, formatMetricValue, formatP, insightDuration } from '../lib/insight-view.js';
import { formatDuration } from '../lib/time-axis.js';
import { labelOf, nodeIdOf, type InsightDetailResponse, type RequestImpact } from '../lib/types.js';
import { linkClick } from '../router.js';
import { fmtTime } from './insights-page.js';

const impact = (r: RequestImpact) => (r.totalCount ? `${r.faultCount} faulted, ${r.okCount} ok, of ${r.totalCount}` : 'no requests');

/** One insight: what happened, when it changed, which service is to blame and why, what it touched. */
export function InsightPage(props: { id: string }) {
  const res = useJson<InsightDetailResponse>(`/v1/console/insights/${props.id}`);
  const now = useNow(res.data?.insight.state === 'ACTIVE');
  if (res.error) return <main><p class="error" role="alert">Could not load insight {props.id}: {res.error}</p></main>;
  if (!res.data) return <main><p class="muted">Loading insight…</p></main>;
  const { insight: i, events, graph } = res.data;
  const root = i.rootCauseCandidates[0]?.service;
  const rootId = root ? nodeIdOf(root) : null;
  const members = new Set(graph.nodes.map((n) => n.id));
  const missing = [...i.impactedServices, ...i.rootCauseCandidates.map((c) => c.service)].filter((s) => !members.has(nodeIdOf(s)));
  return (
    <main class="insight-page">
      <p><a href="/insights" onClick={linkClick}>← Insights</a></p>
      <h1>
        <span class={`state ${i.state.toLowerCase()}`}>{i.state === 'ACTIVE' ? '● Active' : '○ Closed'}</span> {i.categories.join(', ')} insight
      </h1>
      <p class="summary">{i.summary}</p>
      <dl class="facts">
        <dt>Root cause</dt>
        <dd class="root-cause">{root ? labelOf(root) : '–'}</dd>
        <dt>Started</dt>
        <dd>{fmtTime(i.startTime)}</dd>
        <dt>{i.state === 'ACTIVE' ? 'Going on for' : 'Lasted'}</dt>
        <dd>{formatDuration(insightDuration(i, now))}{i.endTime ? ` (ended ${fmtTime(i.endTime)})` : ''}</dd>
        <dt>Client requests</dt>
        <dd>{impact(i.clientRequestImpactStatistics)}</dd>
        <dt>Root cause's requests</dt>
        <dd>{impact(i.rootCauseServiceRequestImpactStatistics)}</dd>
        <dt>Impacted services</dt>
        <dd>{i.impactedServices.map(labelOf).join(', ') || '–'}</dd>
        <dt>Id</dt>
        <dd><code>{i.id}</code></dd>
      </dl>

      <section aria-labelledby="timeline-h">
        <h2 id="timeline-h">Timeline</h2>
        <Timeline from={i.startTime} to={i.endTime ?? Math.max(i.lastUpdateTime, now)} events={events} />
        <ol class="events">
          {events.map((e, k) => (
            <li key={k}>
              <strong>{fmtTime(e.eventTime)}</strong> <span class={`event ${e.type.split('.')[1]}`}>{e.type.replace('insight.', '')}</span>
              <ul>
                {eventChanges(events[k - 1]?.insight, e).map((c) => (
                  <li>{c}</li>
                ))}
              </ul>
            </li>
          ))}
        </ol>
      </section>

      <section aria-labelledby="candidates-h">
        <h2 id="candidates-h">Root-cause candidates</h2>
        <p class="muted small">
          Ranked by blame summed over the insight's windows. Evidence is from {i.evidence ? `the window ${fmtTime(i.evidence.window.start)} – ${new Date(i.evidence.window.end * 1000).toLocaleTimeString()}` : 'the last window judged'}, the last one that changed the insight.
        </p>
        <ol class="candidates">
          {i.rootCauseCandidates.map((c, rank) => {
            const ev = evidenceFor(i, c.service);
            return (
              <li key={nodeIdOf(c.service)} class={rank === 0 ? 'candidate top' : 'candidate'} data-candidate={c.service.name}>
                <h3>
                  {rank + 1}. {labelOf(c.service)} <span class="muted">blame {c.score.toFixed(2)}</span>
                  {rank === 0 && <span class="flag root"> ◆ root cause</span>}
                </h3>
                <p>{c.reason || 'no reason recorded'}</p>
                {ev.length > 0 ? (
                  <table class="evidence">
                    <thead>
                      <tr>
                        <th scope="col">Where</th>
                        <th scope="col">What</th>
                        <th scope="col">Observed</th>
                        <th scope="col">Expected</th>
                        <th scope="col">Test</th>
                        <th scope="col">p-value</th>
                        <th scope="col">φ</th>
                        <th scope="col">Sample</th>
                        <th scope="col">Baseline</th>
                      </tr>
                    </thead>
                    <tbody>
                      {ev.map(({ where, evidence: e }) => (
                        <tr>
                          <td>{where}{e.operation ? ` · ${e.operation}` : ''}</td>
                          <td>{e.category} · {e.metric} {e.direction === 'up' ? '↑' : '↓'}{e.impact ? '' : ' (locates only)'}</td>
                          <td>{formatMetricValue(e.metric, e.observed)}</td>
                          <td>{formatMetricValue(e.metric, e.expected.low)} – {formatMetricValue(e.metric, e.expected.high)}</td>
                          <td>{e.test}</td>
                          <td>{formatP(e.pValue)}</td>
                          <td>{e.phi.toFixed(2)}</td>
                          <td>n = {e.sampleSize} ({e.count})</td>
                          <td>{formatMetricValue(e.metric, e.baseline)} over {e.baselineWindows} {e.baselineSource} windows</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                ) : (
                  <p class="muted small">No anomaly of its own in that window: blamed through the calls and services that lead to it.</p>
                )}
              </li>
            );
          })}
        </ol>
      </section>

      <section aria-labelledby="impact-h">
        <h2 id="impact-h">Impact graph</h2>
        <ServiceGraph label="Impact graph" nodes={graph.nodes} edges={graph.edges} marks={{ inInsight: members, rootCause: new Set(rootId ? [rootId] : []) }} />
        <p class="muted small">Traffic from {fmtTime(graph.from)} to {fmtTime(graph.to)}.{missing.length ? ` Without traffic then: ${missing.map(labelOf).join(', ')}.` : ''}</p>
      </section>

      <section aria-labelledby="traces-h">
        <h2 id="traces-h">Exemplar traces</h2>
        {i.traceFilter && (
          <p>
            <a href={`/traces?from=${Math.floor(i.traceFilter.startTime)}&to=${Math.ceil(i.traceFilter.endTime)}&filter=${encodeURIComponent(i.traceFilter.filterExpression)}`} onClick={linkClick} class="trace-search-link">
              Search the insight's traces
            </a>{' '}
            <code class="muted">{i.traceFilter.filterExpression}</code>
          </p>
        )}
        {i.exemplarTraceIds?.length ? (
          <ul class="traces" aria-label={`${i.exemplarTraceIds.length} exemplar traces`}>
            {i.exemplarTraceIds.map((t) => (
              <li key={t}>
                <a href={`/traces/${t}`} onClick={linkClick}><code>{t}</code></a>
              </li>
            ))}
          </ul>
        ) : (
          <p class="muted">No exemplar traces recorded for this insight.</p>
        )}
      </section>
    </main>
  );
}
