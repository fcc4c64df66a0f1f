import { AppError } from '../util/errors.js';
import { RateProfile, Sampler } from './arrivals.js';
import { compileScenario, type CompiledModel } from './compile.js';
import { Effects } from './effects.js';
import { FAULT, TraceBuilder, type SimDocument } from './engine.js';
import type { Labels, SamplingSpec, Scenario, ScenarioDefinition } from './model.js';
import { TimeHeap } from './order.js';
import { Rng } from './random.js';
import { getScenario } from './scenarios/index.js';

export interface SimulateOptions {
  /** @defaultValue the scenario's seed */
  seed?: number;
  /** event-time length; incidents past the end are left out of the labels @defaultValue the scenario's */
  hours?: number;
  /** client requests per second before sampling @defaultValue the scenario's */
  rate?: number;
  /** epoch seconds of the first request; only for shipped scenarios (a built Scenario has its times fixed) */
  start?: number;
  /** overrides the scenario's sampling rule */
  sampling?: SamplingSpec;
}

export interface SimStats {
  /** client requests, sampled or not */
  requests: number;
  sampled: number;
  documents: number;
  /** sampled requests whose entry segment faulted */
  entryFaults: number;
  /** documents per service name */
  perService: Record<string, number>;
}

export interface SimRequest {
  /** event time the request arrived */
  time: number;
  entry: string;
  /** JSON text of its documents, callees before callers (the order SDKs finish in) */
  texts: string[];
  /** the same documents parsed */
  docs: SimDocument[];
}

const emptyStats = (): SimStats => ({ requests: 0, sampled: 0, documents: 0, entryFaults: 0, perService: {} });
/** keeps the trace contents' random stream apart from arrivals and sampling */
const CONTENT_SALT = 0x5bd1e995;

/**
 * A seeded run of a scenario. Iterating it (or `documents()`) yields every sampled document
 * sorted by start_time; `lines()` yields the same as JSON text, which is cheaper. Each iteration
 * starts over and yields the same documents. `stats` describes the latest iteration.
 */
export class Simulation implements Iterable<SimDocument> {
  readonly model: CompiledModel;
  readonly labels: Labels;
  stats: SimStats = emptyStats();

  constructor(readonly scenario: Scenario) {
    this.model = compileScenario(scenario);
    this.labels = buildLabels(scenario, this.model);
  }

  [Symbol.iterator](): Iterator<SimDocument> {
    return this.documents();
  }

  /** Every sampled document, parsed, sorted by start_time. */
  *documents(): Generator<SimDocument> {
    for (const line of this.lines()) yield JSON.parse(line) as SimDocument;
  }

  /** Sampled requests in arrival order, each with its documents in completion order. */
  *requests(): Generator<SimRequest> {
    for (const r of this.run()) {
      const texts = r.builder.texts.slice();
      yield { time: r.time, entry: r.entry, texts, docs: texts.map((t) => JSON.parse(t) as SimDocument) };
    }
  }

  /** Every sampled document as one line of JSON text (no newline), sorted by start_time (ties in generation order). */
  *lines(): Generator<string> {
    const heap = new TimeHeap<string>();
    let n = 0;
    for (const { time, builder } of this.run()) {
      // every later document starts at or after this arrival
      const bound = Math.round(time * 1000);
      while (heap.peekKey() <= bound) {
        n++;
        yield heap.pop()!;
      }
      const { texts, starts } = builder;
      for (let i = 0; i < texts.length; i++) heap.push(starts[i]!, texts[i]!);
      this.stats.documents = n;
    }
    while (heap.size) {
      n++;
      yield heap.pop()!;
    }
    this.stats.documents = n;
  }

  /** The request loop; the builder's arrays hold the current request's documents until the next step. */
  private *run(): Generator<{ time: number; entry: string; builder: TraceBuilder }> {
    const sc = this.scenario;
    const stats = (this.stats = emptyStats());
    const arrivals = new Rng(sc.seed);
    const content = new Rng((sc.seed ^ CONTENT_SALT) >>> 0);
    const builder = new TraceBuilder(this.model, content, new Effects(this.model, sc.incidents, sc.deploys ?? []));
    const profile = new RateProfile(sc.traffic, sc.surges ?? [], sc.start, sc.seed);
    const entries = this.model.entries;
    const samplers = entries.map(() => new Sampler(sc.sampling));
    const names = this.model.services.map((s) => s.name);
    const tally = () => {
      for (let i = 0; i < names.length; i++) if (builder.perService[i]) stats.perService[names[i]!] = builder.perService[i]!;
    };
    let t = sc.start;
    try {
      for (;;) {
        t += arrivals.exp() / profile.at(t);
        if (t >= sc.end) return;
        let e = 0;
        if (entries.length > 1) {
          let u = arrivals.next();
          while (e < entries.length - 1 && u >= entries[e]!.share) u -= entries[e++]!.share;
        }
        stats.requests++;
        if (!samplers[e]!.sample(t, arrivals)) continue;
        stats.sampled++;
        const entry = entries[e]!.service;
        if (builder.request(entry, t) === FAULT) stats.entryFaults++;
        yield { time: t, entry: entry.name, builder };
      }
    } finally {
      tally();
    }
  }
}

function buildLabels(sc: Scenario, model: CompiledModel): Labels {
  const inRange = (s: number, e: number) => s < sc.end && e > sc.start;
  return {
    scenario: sc.name,
    seed: sc.seed,
    start: sc.start,
    end: sc.end,
    windowSecondsHint: 60,
    rate: sc.traffic.rate,
    sampling: { ...sc.sampling },
    incidents: sc.incidents
      .filter((i) => inRange(i.start, i.end))
      .map((i) => ({
        id: i.id,
        kind: i.kind,
        start: Math.max(i.start, sc.start),
        end: Math.min(i.end, sc.end),
        magnitude: i.magnitude,
        rootCause: model.label(i.target),
        ...(i.description ? { description: i.description } : {}),
      })),
    nonIncidents: [
      ...(sc.surges ?? [])
        .filter((s) => inRange(s.start, s.end))
        .map((s) => ({ id: s.id, kind: 'traffic-surge' as const, start: s.start, end: Math.min(s.end, sc.end), magnitude: s.multiplier, ...(s.description ? { description: s.description } : {}) })),
      ...(sc.deploys ?? [])
        .filter((d) => d.at < sc.end)
        .map((d) => ({ id: d.id, kind: 'deploy' as const, start: d.at, end: sc.end, magnitude: d.latencyFactor, target: model.label(d.target), ...(d.description ? { description: d.description } : {}) })),
    ].sort((a, b) => a.start - b.start),
  };
}

function isDefinition(x: ScenarioDefinition | Scenario): x is ScenarioDefinition {
  return typeof (x as ScenarioDefinition).build === 'function';
}

/** Resolves a scenario (shipped name, definition, or built scenario) with overrides applied. */
export function resolveScenario(scenario: string | ScenarioDefinition | Scenario, opts: SimulateOptions = {}): Scenario {
  for (const [k, v] of Object.entries(opts)) {
    if (k !== 'sampling' && v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && (k === 'seed' || v > 0))) {
      throw new AppError('SIM_BAD_OPTION', `${k} must be a positive number, got ${String(v)}`);
    }
  }
  const def = typeof scenario === 'string' ? getScenario(scenario) : scenario;
  let sc: Scenario;
  if (isDefinition(def)) {
    const p = def.defaults;
    sc = def.build({ seed: opts.seed ?? p.seed, start: opts.start ?? p.start, hours: opts.hours ?? p.hours, rate: opts.rate ?? p.rate });
  } else {
    sc = {
      ...def,
      ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
      ...(opts.hours !== undefined ? { end: def.start + opts.hours * 3600 } : {}),
      ...(opts.rate !== undefined ? { traffic: { ...def.traffic, rate: opts.rate } } : {}),
    };
  }
  if (opts.sampling) sc = { ...sc, sampling: { ...opts.sampling } };
  return sc;
}

/**
 * Runs a scenario without files: iterate the result for documents sorted by start_time, read
 * `labels` for the answer key. Same scenario and seed, same documents.
 */
export function simulate(scenario: string | ScenarioDefinition | Scenario, opts: SimulateOptions = {}): Simulation {
  return new Simulation(resolveScenario(scenario, opts));
}
