import { useMemo } from 'preact/hooks';
import { edgePath, layoutGraph, midpoint } from '../lib/graph-layout.js';
import { HEALTH_COLOURS, healthShares, healthText, ringSegments } from '../lib/health.js';
import type { MapEdge, MapNode } from '../lib/types.js';

const W = 150;
const H = 112;
const R = 26;
const C = 2 * Math.PI * R;

export interface GraphMarks {
  /** node ids in an active insight */
  inInsight: ReadonlySet<string>;
  /** node ids that are an active insight's root cause */
  rootCause: ReadonlySet<string>;
}

export const fmtMs = (x: number | null) => (x === null ? '–' : x === 0 ? '0 ms' : x >= 100 ? `${x.toFixed(0)} ms` : x >= 1 ? `${x.toFixed(1)} ms` : `${x.toFixed(2)} ms`);
export const fmtRate = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

const kindLabel = (n: MapNode) => (n.kind === 'client' ? 'clients' : n.type || (n.kind === 'inferred' ? 'remote' : 'service'));

/**
 * The service graph, left to right: a ring per node split by ok / 4xx / 429 / 5xx share, its requests per
 * minute inside, p90 and health in words below; edges with calls per minute and mean latency. Layout
 * depends on the ids only, so a live refresh with new numbers keeps every node where it was.
 */
export function ServiceGraph(props: { nodes: MapNode[]; edges: MapEdge[]; marks?: GraphMarks; selected?: string | null; onSelect?: (id: string) => void; label: string }) {
  const { nodes, edges, marks } = props;
  const shapeKey = nodes.map((n) => n.id).join('\n') + '\n\n' + edges.map((e) => e.id).join('\n');
  const layout = useMemo(
    () => layoutGraph({ nodes: nodes.map((n) => ({ id: n.id, width: W, height: H })), edges }),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [shapeKey],
  );
  const byId = new Map(nodes.map((n) => [n.id, n]));
  if (!nodes.length) return <p class="empty">No traffic in this range.</p>;
  return (
    <div class="graph-scroll">
      <svg class="graph" width={layout.width} height={layout.height} viewBox={`0 0 ${layout.width} ${layout.height}`} role="group" aria-label={props.label}>
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M0,0L10,5L0,10z" fill="#7a8591" />
          </marker>
        </defs>
        {edges.map((e) => {
          const pts = layout.edges.get(e.id);
          if (!pts || !pts.length) return null;
          const m = midpoint(pts);
          const faulty = e.stats.faultCount > 0;
          return (
            <g class="edge" data-edge={e.id} key={e.id}>
              <path d={edgePath(pts)} fill="none" stroke={faulty ? HEALTH_COLOURS.fault : '#9aa5b1'} stroke-width={faulty ? 2 : 1.5} marker-end="url(#arrow)" />
              <text x={m.x} y={m.y - 4} class="edge-label" text-anchor="middle">
                {`${fmtRate(e.perMinute)}/min · ${fmtMs(e.stats.meanMs)}`}
              </text>
            </g>
          );
        })}
        {[...layout.nodes.entries()].map(([id, p]) => {
          const n = byId.get(id)!;
          const shares = healthShares(n.stats);
          const isRoot = marks?.rootCause.has(id) ?? false;
          const inInsight = marks?.inInsight.has(id) ?? false;
          const selected = props.selected === id;
          const health = healthText(shares);
          const status = isRoot ? 'root cause of an active insight' : inInsight ? 'in an active insight' : '';
          const isClient = n.kind === 'client';
          const aria = `${isClient ? `clients of ${n.name}` : n.name}, ${kindLabel(n)}: ${fmtRate(n.perMinute)} requests per minute, p90 ${fmtMs(n.stats.p90Ms)}, ${health}${status ? `, ${status}` : ''}`;
          const cy = p.y - H / 2 + R + 6;
          return (
            <g
              key={id}
              class={`node${selected ? ' selected' : ''}${isRoot ? ' root-cause' : inInsight ? ' in-insight' : ''}`}
              data-node={id}
              data-name={isClient ? undefined : n.name}
              data-kind={n.kind}
              data-root-cause={isRoot ? 'true' : undefined}
              data-in-insight={inInsight ? 'true' : undefined}
              tabIndex={props.onSelect ? 0 : -1}
              role={props.onSelect ? 'button' : 'img'}
              aria-label={aria}
              aria-pressed={props.onSelect ? selected : undefined}
              onClick={() => props.onSelect?.(id)}
              onKeyDown={(e) => {
                if (e.key === 'Enter' || e.key === ' ') {
                  e.preventDefault();
                  props.onSelect?.(id);
                }
              }}
            >
              <rect class="node-box" x={p.x - W / 2} y={p.y - H / 2} width={W} height={H} rx={8} />
              {isRoot && <circle cx={p.x} cy={cy} r={R + 9} fill="none" stroke={HEALTH_COLOURS.fault} stroke-width={3} stroke-dasharray="4 3" />}
              {inInsight && !isRoot && <circle cx={p.x} cy={cy} r={R + 8} fill="none" stroke="#e07b00" stroke-width={2} stroke-dasharray="2 3" />}
              <circle cx={p.x} cy={cy} r={R} fill="none" stroke="#e3e7eb" stroke-width={7} />
              {ringSegments(shares, C).map((s) => (
                <circle cx={p.x} cy={cy} r={R} fill="none" stroke={HEALTH_COLOURS[s.kind]} stroke-width={7} stroke-dasharray={s.dashArray} stroke-dashoffset={s.dashOffset}>
                  <title>{s.kind}</title>
                </circle>
              ))}
              <text x={p.x} y={cy - 1} text-anchor="middle" class="node-rate">
                {fmtRate(n.perMinute)}
              </text>
              <text x={p.x} y={cy + 10} text-anchor="middle" class="node-unit">
                /min
              </text>
              <text x={p.x} y={p.y + 20} text-anchor="middle" class="node-name">
                {isClient ? 'Clients' : n.name.length > 22 ? `${n.name.slice(0, 21)}…` : n.name}
              </text>
              <text x={p.x} y={p.y + 32} text-anchor="middle" class="node-sub">
                {isClient ? `calling ${n.name.length > 18 ? `${n.name.slice(0, 17)}…` : n.name}` : `p90 ${fmtMs(n.stats.p90Ms)} · ${health}`}
              </text>
              {(isRoot || inInsight) && (
                <text x={p.x} y={p.y + 46} text-anchor="middle" class={isRoot ? 'node-flag root' : 'node-flag'}>
                  {isRoot ? '◆ ROOT CAUSE' : '▲ in insight'}
                </text>
              )}
              <title>{aria}</title>
            </g>
          );
        })}
      </svg>
    </div>
  );
}

/** What the ring colours mean, in words. */
export function HealthLegend() {
  return (
    <ul class="legend" aria-label="Legend">
      <li><span class="swatch" style={{ background: HEALTH_COLOURS.ok }} /> OK</li>
      <li><span class="swatch" style={{ background: HEALTH_COLOURS.error }} /> Error (4xx)</li>
      <li><span class="swatch" style={{ background: HEALTH_COLOURS.throttle }} /> Throttled (429)</li>
      <li><span class="swatch" style={{ background: HEALTH_COLOURS.fault }} /> Fault (5xx)</li>
      <li><span class="flag root">◆ ROOT CAUSE</span> of an active insight</li>
      <li><span class="flag">▲ in insight</span> impacted by one</li>
    </ul>
  );
}
