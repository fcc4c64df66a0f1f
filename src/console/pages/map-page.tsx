import { useMemo } from 'preact/hooks';
import { useJson, useNow } from '../api.js';
import { RangePicker } from '../components/range-picker.js';
import { HealthLegend, ServiceGraph } from '../components/service-graph.js';
import { activeMarks } from '../lib/insight-view.js';
import { parseRange, rangeQuery, type TimeRange } from '../lib/time-axis.js';
import { labelOf, type GraphResponse, type InsightsResponse } from '../lib/types.js';
import { linkClick, navigate } from '../router.js';
import { NodePanel } from './node-panel.js';

/** The service map: what is talking to what in the range, how healthy each is, and where insights point. */
export function MapPage(props: { query: string }) {
  const q = new URLSearchParams(props.query);
  const initial = parseRange(props.query, Math.floor(Date.now() / 1000));
  const live = initial.live;
  const now = useNow(live);
  const range: TimeRange = live ? { from: now - (initial.last ?? 900), to: now, live: true, last: initial.last } : initial;
  const selected = q.get('node');
  const setQuery = (r: TimeRange, node: string | null) => navigate(`/?${rangeQuery(r)}${node ? `&node=${encodeURIComponent(node)}` : ''}`, true);
  const span = `from=${Math.floor(range.from)}&to=${Math.ceil(range.to)}`;
  const graph = useJson<GraphResponse>(`/v1/console/graph?${span}`);
  const insights = useJson<InsightsResponse>(`/v1/console/insights?${span}`);
  const marks = useMemo(() => activeMarks(insights.data?.insights), [insights.data]);
  const g = graph.data;
  const node = selected && g ? g.nodes.find((n) => n.id === selected) : undefined;
  const active = (insights.data?.insights ?? []).filter((i) => i.state === 'ACTIVE');
  return (
    <main>
      <div class="toolbar">
        <h1>Service map</h1>
        <RangePicker range={range} onChange={(r) => setQuery(r, selected)} updatedAt={graph.at} />
      </div>
      {active.length > 0 && (
        <div class="banner" role="status">
          {active.length} active insight{active.length > 1 ? 's' : ''}:{' '}
          {active.map((i, k) => (
            <span key={i.id}>
              {k > 0 && '; '}
              <a href={`/insights/${i.id}`} onClick={linkClick}>
                {i.categories.join(', ')} rooted in {i.rootCauseCandidates[0] ? labelOf(i.rootCauseCandidates[0].service) : '?'}
              </a>
            </span>
          ))}
        </div>
      )}
      {graph.error && <p class="error" role="alert">Could not load the service graph: {graph.error}</p>}
      {insights.error && !insights.error.startsWith('404') && <p class="error" role="alert">Could not load insights: {insights.error}</p>}
      <HealthLegend />
      {!g && !graph.error && <p class="muted">Loading the service graph…</p>}
      {g && (
        <ServiceGraph
          label="Service map"
          nodes={g.nodes}
          edges={g.edges}
          marks={marks}
          selected={selected}
          onSelect={(id) => setQuery(range, id === selected ? null : id)}
        />
      )}
      {g && <p class="muted small">{g.nodes.filter((n) => n.kind !== 'client').length} services and dependencies, {g.edges.length} calls; numbers are over the whole range ({g.windowSeconds}-second windows). Select a node (click, or Tab and Enter) for its windows.</p>}
      {node && <NodePanel key={`${node.id}`} node={node} from={range.from} to={range.to} onClose={() => setQuery(range, null)} />}
      {selected && g && !node && <p class="muted">{selected} has no traffic in this range.</p>}
    </main>
  );
}
