import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { edgePath, layoutGraph, midpoint } from '../lib/graph-layout.js';
import { HEALTH_COLOURS, healthShares, healthText, ringSegments } from '../lib/health.js';
import type { MapEdge, MapNode } from '../lib/types.js';

const FULL = { w: 150, h: 112 };
/** Above this many nodes, each is drawn in a smaller box (ring on the left, text on the right). */
const COMPACT_ABOVE = 20;
const COMPACT = { w: 176, h: 58 };
const R = 26;
const C = 2 * Math.PI * R;
const RC = 15;
const CC = 2 * Math.PI * RC;

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
    () => {
      const size = nodes.length > COMPACT_ABOVE ? COMPACT : FULL;
      return layoutGraph({ nodes: nodes.map((n) => ({ id: n.id, width: size.w, height: size.h })), edges }, nodes.length > COMPACT_ABOVE ? { nodeSep: 10, rankSep: 90 } : {});
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [shapeKey],
  );
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const compact = nodes.length > COMPACT_ABOVE;
  const box = useRef<HTMLDivElement>(null);
  const [zoom, setZoom] = useState<number | 'fit'>('fit');
  const [room, setRoom] = useState({ w: 1200, h: 560 });
  useEffect(() => {
    const measure = () => box.current && setRoom({ w: box.current.clientWidth - 2, h: Math.max(300, window.innerHeight * 0.7 - 2) });
    measure();
    addEventListener('resize', measure);
    return () => removeEventListener('resize', measure);
  }, []);
  // a big graph starts fitted to the screen, but never below 60 %: smaller, names are unreadable (it scrolls)
  const fit = Math.max(0.6, Math.min(1, room.w / layout.width, room.h / layout.height));
  const scale = zoom === 'fit' ? fit : zoom;
  if (!nodes.length) return <p class="empty">No traffic in this range.</p>;
  return (
    <div class="graph-wrap">
      {(fit < 1 || zoom !== 'fit') && (
        <div class="zoom" role="group" aria-label="Zoom">
          <button type="button" onClick={() => setZoom(Math.max(0.3, scale / 1.25))} aria-label="Zoom out">−</button>
          <span class="muted small">{Math.round(scale * 100)} %</span>
          <button type="button" onClick={() => setZoom(Math.min(2, scale * 1.25))} aria-label="Zoom in">+</button>
          <button type="button" onClick={() => setZoom('fit')} aria-pressed={zoom === 'fit'}>Fit</button>
          <button type="button" onClick={() => setZoom(1)} aria-pressed={zoom === 1}>100 %</button>
        </div>
      )}
    <div class="graph-scroll" ref={box}>
      <svg class="graph" width={layout.width * scale} height={layout.height * scale} viewBox={`0 0 ${layout.width} ${layout.height}`} role="group" aria-label={props.label}>
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
              {compact ? <CompactNode n={n} x={p.x} y={p.y} isRoot={isRoot} inInsight={inInsight} health={health} /> : <FullNode n={n} x={p.x} y={p.y} isRoot={isRoot} inInsight={inInsight} health={health} />}
              <title>{aria}</title>
            </g>
          );
        })}
      </svg>
    </div>
    </div>
  );
}

interface NodeProps {
  n: MapNode;
  x: number;
  y: number;
  isRoot: boolean;
  inInsight: boolean;
  health: string;
}

const shortName = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

function Ring(props: { cx: number; cy: number; r: number; c: number; width: number; n: MapNode }) {
  return (
    <>
      <circle cx={props.cx} cy={props.cy} r={props.r} fill="none" stroke="#e3e7eb" stroke-width={props.width} />
      {ringSegments(healthShares(props.n.stats), props.c).map((s) => (
        <circle cx={props.cx} cy={props.cy} r={props.r} fill="none" stroke={HEALTH_COLOURS[s.kind]} stroke-width={props.width} stroke-dasharray={s.dashArray} stroke-dashoffset={s.dashOffset}>
          <title>{s.kind}</title>
        </circle>
      ))}
    </>
  );
}

/** A node as X-Ray draws it: the ring with requests per minute inside, name and numbers below. */
function FullNode({ n, x, y, isRoot, inInsight, health }: NodeProps) {
  const { w: W, h: H } = FULL;
  const cy = y - H / 2 + R + 6;
  const isClient = n.kind === 'client';
  return (
    <>
      <rect class="node-box" x={x - W / 2} y={y - H / 2} width={W} height={H} rx={8} />
      {isRoot && <circle cx={x} cy={cy} r={R + 9} fill="none" stroke={HEALTH_COLOURS.fault} stroke-width={3} stroke-dasharray="4 3" />}
      {inInsight && !isRoot && <circle cx={x} cy={cy} r={R + 8} fill="none" stroke="#e07b00" stroke-width={2} stroke-dasharray="2 3" />}
      <Ring cx={x} cy={cy} r={R} c={C} width={7} n={n} />
      <text x={x} y={cy - 1} text-anchor="middle" class="node-rate">{fmtRate(n.perMinute)}</text>
      <text x={x} y={cy + 10} text-anchor="middle" class="node-unit">/min</text>
      <text x={x} y={y + 20} text-anchor="middle" class="node-name">{isClient ? 'Clients' : shortName(n.name, 22)}</text>
      <text x={x} y={y + 32} text-anchor="middle" class="node-sub">{isClient ? `calling ${shortName(n.name, 18)}` : `p90 ${fmtMs(n.stats.p90Ms)} · ${health}`}</text>
      {(isRoot || inInsight) && (
        <text x={x} y={y + 46} text-anchor="middle" class={isRoot ? 'node-flag root' : 'node-flag'}>{isRoot ? '◆ ROOT CAUSE' : '▲ in insight'}</text>
      )}
    </>
  );
}

/** A node of a big graph: a small ring on the left, name, rate, p90 and health (or its insight mark) on the right. */
function CompactNode({ n, x, y, isRoot, inInsight, health }: NodeProps) {
  const { w: W, h: H } = COMPACT;
  const cx = x - W / 2 + 24;
  const tx = cx + RC + 10;
  const isClient = n.kind === 'client';
  return (
    <>
      <rect class="node-box" x={x - W / 2} y={y - H / 2} width={W} height={H} rx={6} />
      {isRoot && <circle cx={cx} cy={y} r={RC + 6} fill="none" stroke={HEALTH_COLOURS.fault} stroke-width={2.5} stroke-dasharray="3 2" />}
      {inInsight && !isRoot && <circle cx={cx} cy={y} r={RC + 5} fill="none" stroke="#e07b00" stroke-width={2} stroke-dasharray="2 2" />}
      <Ring cx={cx} cy={y} r={RC} c={CC} width={5} n={n} />
      <text x={tx} y={y - 9} class="node-name">{isClient ? 'Clients' : shortName(n.name, 16)}</text>
      <text x={tx} y={y + 4} class="node-sub">{`${fmtRate(n.perMinute)}/min${isClient ? '' : ` · p90 ${fmtMs(n.stats.p90Ms)}`}`}</text>
      <text x={tx} y={y + 17} class={isRoot ? 'node-flag root' : inInsight ? 'node-flag' : 'node-sub'}>
        {isRoot ? '◆ ROOT CAUSE' : inInsight ? '▲ in insight' : isClient ? `calling ${shortName(n.name, 12)}` : shortName(health, 26)}
      </text>
    </>
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
