import { useJson } from '../api.js';
import { Chart } from '../components/chart.js';
import { anomalousSpans, chartSeries, type ChartMetric } from '../lib/chart-data.js';
import { formatShare } from '../lib/health.js';
import { formatDuration } from '../lib/time-axis.js';
import type { MapNode, SeriesResponse } from '../lib/types.js';
import { fmtMs } from '../components/service-graph.js';

const pct = (v: number) => formatShare(v);
const CHARTS: Array<{ metric: ChartMetric; title: string; format: (v: number) => string; colour: string }> = [
  { metric: 'count', title: 'Requests per window', format: (v) => (Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 1 : 0)), colour: '#2f6db5' },
  { metric: 'faultRate', title: 'Fault rate (5xx)', format: pct, colour: '#d13212' },
  { metric: 'errorRate', title: 'Error rate (4xx, with 429)', format: pct, colour: '#b38b00' },
  { metric: 'throttleRate', title: 'Throttle rate (429)', format: pct, colour: '#8a4fd1' },
  { metric: 'p50Ms', title: 'p50 response time', format: (v) => fmtMs(v), colour: '#2f6db5' },
  { metric: 'p90Ms', title: 'p90 response time', format: (v) => fmtMs(v), colour: '#2f6db5' },
  { metric: 'p99Ms', title: 'p99 response time', format: (v) => fmtMs(v), colour: '#2f6db5' },
];

/** A node's windows as charts, each with the baseline's expected band and the anomalous windows marked. */
export function NodePanel(props: { node: MapNode; from: number; to: number; onClose: () => void }) {
  const { node } = props;
  const path = `/v1/console/series?node=${encodeURIComponent(node.id)}&from=${Math.floor(props.from)}&to=${Math.ceil(props.to)}`;
  const res = useJson<SeriesResponse>(path);
  const d = res.data;
  return (
    <section class="panel" aria-label={`${node.name} over time`}>
      <header class="panel-head">
        <h2>
          {node.name} <span class="muted">{node.type}</span>
        </h2>
        <button type="button" onClick={props.onClose} aria-label="Close the node's charts">
          Close
        </button>
      </header>
      <p class="muted">
        Requests {node.stats.count} in range · {node.perMinute}/min · p50 {fmtMs(node.stats.p50Ms)} · p90 {fmtMs(node.stats.p90Ms)} · p99 {fmtMs(node.stats.p99Ms)} · faults {node.stats.faultCount} · errors {node.stats.errorCount} (throttled {node.stats.throttleCount})
      </p>
      {res.error && <p class="error" role="alert">Could not load the windows: {res.error}</p>}
      {!d && !res.error && <p class="muted">Loading windows…</p>}
      {d && (
        <>
          <p class="muted small">
            {d.bucketSeconds > d.windowSeconds ? `Each point merges ${d.bucketSeconds / d.windowSeconds} windows (${formatDuration(d.bucketSeconds)}). ` : ''}
            Shaded blue: the expected range from the previous {d.baseline.historyWindows} {d.bucketSeconds > d.windowSeconds ? 'points' : 'windows'} with traffic, leaving out those of insights on this node (rates up to the binomial bound at α = {d.baseline.alpha}, and at least {d.baseline.minRateIncrease * 100} points above the baseline; percentiles within ×{d.baseline.minLatencyRatio}; requests ±3√mean). No band before {d.baseline.minHistoryWindows} such windows. Shaded red: windows of an insight that names this node
            {d.insights.length ? ` (${d.insights.length})` : ''}. Red points: windows outside the expected range.
          </p>
          <div class="charts">
            {CHARTS.map((c) => (
              <Chart key={c.metric} title={c.title} series={chartSeries(d.windows, c.metric)} spans={anomalousSpans(d.insights, d.from, d.to, d.bucketSeconds)} windowSeconds={d.bucketSeconds} format={c.format} colour={c.colour} />
            ))}
          </div>
        </>
      )}
    </section>
  );
}
