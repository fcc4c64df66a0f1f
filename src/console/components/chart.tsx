import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import type { ChartSeries } from '../lib/chart-data.js';

export interface ChartProps {
  title: string;
  series: ChartSeries;
  /** time spans [start, end) to shade: windows of an insight involving this node */
  spans: Array<[number, number]>;
  windowSeconds: number;
  format: (v: number) => string;
  colour: string;
}

/** Shades the anomalous spans behind the data. */
function spansPlugin(get: () => Array<[number, number]>): uPlot.Plugin {
  return {
    hooks: {
      drawClear: (u) => {
        const ctx = u.ctx;
        ctx.save();
        ctx.fillStyle = 'rgba(209, 50, 18, 0.10)';
        for (const [a, b] of get()) {
          const x0 = u.valToPos(a, 'x', true);
          const x1 = u.valToPos(b, 'x', true);
          ctx.fillRect(x0, u.bbox.top, Math.max(1, x1 - x0), u.bbox.height);
        }
        ctx.restore();
      },
    },
  };
}

/**
 * One metric per window: the observed line, the expected band behind it, windows outside the band as
 * red points, and the insight's windows shaded. The data also goes into a hidden table (screen readers,
 * and every number on screen traceable to the API answer).
 */
export function Chart(props: ChartProps) {
  const el = useRef<HTMLDivElement>(null);
  const [tableOpen, setTableOpen] = useState(false);
  const plot = useRef<uPlot | null>(null);
  const spans = useRef(props.spans);
  spans.current = props.spans;
  const { series: s } = props;
  // window starts are plotted at the window's middle, so a point sits over the time it covers
  const half = props.windowSeconds / 2;
  const outside = s.observed.map((v, i) => (s.outside.includes(i) ? v : null));
  const data: uPlot.AlignedData = [s.x.map((t) => t + half), s.low, s.high, s.observed, outside];

  useEffect(() => {
    if (!el.current) return;
    const opts: uPlot.Options = {
      width: Math.max(280, el.current.clientWidth || 380),
      height: 150,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] } },
      axes: [{ stroke: '#56606b', grid: { stroke: '#eef1f4' } }, { stroke: '#56606b', grid: { stroke: '#eef1f4' }, size: 72, values: (_u, vals) => vals.map((v) => props.format(v)) }],
      series: [
        {},
        { label: 'expected low', stroke: 'rgba(0,0,0,0)', points: { show: false } },
        { label: 'expected high', stroke: 'rgba(60,110,180,0.35)', width: 1, points: { show: false } },
        { label: props.title, stroke: props.colour, width: 1.6, points: { show: false }, spanGaps: false },
        { label: 'outside expected', stroke: 'rgba(0,0,0,0)', points: { show: true, size: 7, fill: '#d13212', stroke: '#d13212' } },
      ],
      bands: [{ series: [2, 1], fill: 'rgba(60,110,180,0.14)' }],
      plugins: [spansPlugin(() => spans.current)],
    };
    plot.current = new uPlot(opts, data, el.current);
    const resize = () => el.current && plot.current?.setSize({ width: Math.max(280, el.current.clientWidth), height: 150 });
    addEventListener('resize', resize);
    return () => {
      removeEventListener('resize', resize);
      plot.current?.destroy();
      plot.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    plot.current?.setData(data);
  });

  let last: number | null = null;
  for (let i = s.observed.length - 1; i >= 0 && last === null; i--) last = s.observed[i] ?? null;
  return (
    <figure class="chart">
      <figcaption>
        <strong>{props.title}</strong>
        <span class="muted"> · latest {last === null ? '–' : props.format(last)}</span>
        {s.outside.length > 0 && <span class="flag"> · {s.outside.length} window{s.outside.length > 1 ? 's' : ''} outside expected</span>}
      </figcaption>
      <div ref={el} class="chart-plot" aria-hidden="true" />
      <details class="chart-table" onToggle={(e) => setTableOpen((e.currentTarget as HTMLDetailsElement).open)}>
        <summary>Data</summary>
        <table>
          <thead>
            <tr><th>window start</th><th>observed</th><th>expected</th></tr>
          </thead>
          <tbody>
            {tableOpen && s.x.map((t, i) => (
              <tr class={s.outside.includes(i) ? 'outside' : ''}>
                <td>{new Date(t * 1000).toLocaleTimeString()}</td>
                <td>{s.observed[i] === null ? '–' : props.format(s.observed[i]!)}</td>
                <td>{s.low[i] === null ? 'no baseline yet' : `${props.format(s.low[i]!)} – ${props.format(s.high[i]!)}`}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
