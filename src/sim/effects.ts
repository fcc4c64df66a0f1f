import type { CompiledModel } from './compile.js';
import type { DeploySpec, IncidentSpec } from './model.js';

interface Modifier {
  node: number;
  start: number;
  end: number;
  fault: number;
  throttle: number;
  latency: number;
  version?: string;
}

/**
 * What incidents and deploys do to each node at one instant, as flat per-node arrays the trace
 * builder reads without lookups. Recomputed only when event time crosses a start or an end.
 */
export class Effects {
  /** extra fault probability, combined with the base rate as an independent cause */
  readonly fault: Float64Array;
  readonly throttle: Float64Array;
  /** multiplier of own work (a dependency: of the call) */
  readonly latency: Float64Array;
  /** `service.version` override after a deploy, else undefined */
  readonly version: Array<string | undefined>;
  private readonly mods: Modifier[];
  private validFrom = Infinity;
  private validUntil = -Infinity;

  constructor(model: CompiledModel, incidents: readonly IncidentSpec[], deploys: readonly DeploySpec[]) {
    const n = model.nodeCount;
    this.fault = new Float64Array(n);
    this.throttle = new Float64Array(n);
    this.latency = new Float64Array(n).fill(1);
    this.version = new Array<string | undefined>(n).fill(undefined);
    this.mods = [
      ...incidents.map((i) => ({
        node: model.indexOf(i.target)!,
        start: i.start,
        end: i.end,
        fault: i.kind === 'fault' ? i.magnitude : 0,
        throttle: i.kind === 'throttle' ? i.magnitude : 0,
        latency: i.kind === 'latency' ? i.magnitude : 1,
      })),
      ...deploys.map((d) => ({ node: model.indexOf(d.target)!, start: d.at, end: Infinity, fault: 0, throttle: 0, latency: d.latencyFactor, version: d.version })),
    ];
  }

  /** Brings the arrays to event time `t`. */
  at(t: number): void {
    if (t >= this.validFrom && t < this.validUntil) return;
    this.fault.fill(0);
    this.throttle.fill(0);
    this.latency.fill(1);
    this.version.fill(undefined);
    let from = -Infinity;
    let until = Infinity;
    // deploys are listed after incidents, and a later deploy overrides an earlier one's version
    const active = this.mods.filter((m) => m.start <= t && t < m.end).sort((a, b) => a.start - b.start);
    for (const m of active) {
      this.fault[m.node] = either(this.fault[m.node]!, m.fault);
      this.throttle[m.node] = either(this.throttle[m.node]!, m.throttle);
      this.latency[m.node]! *= m.latency;
      if (m.version !== undefined) this.version[m.node] = m.version;
    }
    for (const m of this.mods) {
      for (const b of [m.start, m.end]) {
        if (b <= t && b > from) from = b;
        if (b > t && b < until) until = b;
      }
    }
    this.validFrom = from;
    this.validUntil = until;
  }
}

/** Probability that at least one of two independent causes fires. */
export function either(a: number, b: number): number {
  return b === 0 ? a : a === 0 ? b : 1 - (1 - a) * (1 - b);
}
