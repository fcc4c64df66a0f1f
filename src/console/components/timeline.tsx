import { linearScale, tickLabel, tickStep, timeTicks } from '../lib/time-axis.js';
import type { InsightEvent } from '../lib/types.js';

const COLOURS: Record<InsightEvent['type'], string> = { 'insight.opened': '#d13212', 'insight.updated': '#e07b00', 'insight.closed': '#3a9c3a' };

/** The insight's span on a time axis, with a marker per event (their list, with what changed, follows). */
export function Timeline(props: { from: number; to: number; events: InsightEvent[] }) {
  const width = 900;
  const height = 64;
  const times = props.events.map((e) => e.eventTime);
  const from = Math.min(props.from, ...times);
  const to = Math.max(props.to, ...times, from + 1);
  const pad = (to - from) * 0.04;
  const x = linearScale(from - pad, to + pad, 20, width - 20);
  const step = tickStep(from - pad, to + pad, 8);
  return (
    <svg class="timeline" viewBox={`0 0 ${width} ${height}`} width="100%" height={height} role="img" aria-label="Insight timeline: see the list of events below">
      <rect x={x(props.from)} y={14} width={Math.max(2, x(props.to) - x(props.from))} height={14} fill="rgba(209,50,18,0.15)" />
      <line x1={20} x2={width - 20} y1={36} y2={36} stroke="#9aa5b1" />
      {timeTicks(from - pad, to + pad, 8).map((t) => (
        <g key={t}>
          <line x1={x(t)} x2={x(t)} y1={36} y2={41} stroke="#9aa5b1" />
          <text x={x(t)} y={54} text-anchor="middle" class="tick">
            {tickLabel(t, step, true)}
          </text>
        </g>
      ))}
      {props.events.map((e, k) => (
        <circle key={k} cx={x(e.eventTime)} cy={21} r={5} fill={COLOURS[e.type]}>
          <title>{`${e.type.replace('insight.', '')} at ${new Date(e.eventTime * 1000).toLocaleTimeString()}`}</title>
        </circle>
      ))}
    </svg>
  );
}
