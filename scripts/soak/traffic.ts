import { DEFAULT_SAMPLING, SAMPLE_ALL, type IncidentSpec, type SamplingSpec, type Scenario } from '../../src/sim/model.js';
import { shopServices } from '../../src/sim/scenarios/shop.js';
import { Simulation, type SimRequest } from '../../src/sim/simulate.js';

/** The dependency the soak's incidents break: the shop's external payment API. */
export const INCIDENT_TARGET = 'api.payments.example.com';

export interface SoakTrafficOptions {
  seed: number;
  /** epoch seconds: the simulation's event time starts at the wall clock */
  start: number;
  /** client requests per second, steady (no diurnal curve, no wobble) */
  rate: number;
  /** 'all': every request traced; 'xray': the SDKs' default rule (1/s + 5 %) */
  sampling: 'all' | 'xray';
  /** one incident this often… */
  incidentEverySeconds: number;
  /** …lasting this long… */
  incidentSeconds: number;
  /** …the first starting this long after `start` */
  firstIncidentAfterSeconds: number;
  /** add `magnitude` to the payment API's fault probability during an incident */
  incidentMagnitude: number;
  /** how many incidents to schedule (enough for the run) */
  incidents: number;
}

/** The shop (src/sim/scenarios/shop.ts) at a steady rate, open-ended, with a payment API fault every so often. */
export function soakScenario(o: SoakTrafficOptions): Scenario {
  const sampling: SamplingSpec = o.sampling === 'all' ? SAMPLE_ALL : DEFAULT_SAMPLING;
  const incidents: IncidentSpec[] = [];
  for (let k = 0; k < o.incidents; k++) {
    const start = o.start + o.firstIncidentAfterSeconds + k * o.incidentEverySeconds;
    incidents.push({ id: `soak-payment-faults-${k + 1}`, kind: 'fault', target: INCIDENT_TARGET, start, end: start + o.incidentSeconds, magnitude: o.incidentMagnitude });
  }
  return {
    name: 'soak',
    description: 'steady shop traffic with a payment API fault every few minutes',
    seed: o.seed,
    start: o.start,
    end: Infinity,
    services: shopServices(),
    traffic: { rate: o.rate, entries: [{ service: 'api-gateway', share: 1 }] },
    sampling,
    incidents,
  };
}

export interface SenderStats {
  /** documents sent in PutTraceSegments calls that have been answered */
  sent: number;
  /** of those, accepted (not in UnprocessedTraceSegments, not refused by a 429/503) */
  accepted: number;
  /** documents in calls answered ThrottledException / 503 (not sent again: the soak counts, it does not insist) */
  throttled: number;
  /** calls that failed outright (network, 5xx other than 503) */
  failedCalls: number;
  /** seconds the newest sent document's end lagged behind the wall clock at the last send */
  lagSeconds: number;
}

interface Pending {
  end: number;
  text: string;
}

const MAX_DOCS_PER_CALL = 500;

/**
 * Sends the simulation's documents to PutTraceSegments at wall-clock pace: a document goes once the
 * wall clock passes its end_time, as an SDK sends a segment when it ends. Event time is wall time (the
 * scenario starts now), so windows, lateness and idle closing behave as with live traffic.
 */
export class WallClockSender {
  readonly stats: SenderStats = { sent: 0, accepted: 0, throttled: 0, failedCalls: 0, lagSeconds: 0 };
  private readonly requests: Iterator<SimRequest>;
  private next: SimRequest | undefined;
  private pending: Pending[] = [];
  private stopped = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly baseUrl: string,
    scenario: Scenario,
    private readonly tickMs = 200,
  ) {
    this.requests = new Simulation(scenario).requests();
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops sending (what is in flight finishes); idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  private take(now: number): void {
    for (;;) {
      this.next ??= this.requests.next().value as SimRequest | undefined;
      if (!this.next || this.next.time > now) return;
      const r = this.next;
      this.next = undefined;
      r.docs.forEach((d, i) => this.pending.push({ end: Number(d.end_time ?? d.start_time), text: r.texts[i]! }));
    }
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const t0 = Date.now();
      const now = t0 / 1000;
      this.take(now);
      const due = this.pending.filter((p) => p.end <= now);
      if (due.length) {
        this.pending = this.pending.filter((p) => p.end > now);
        for (let i = 0; i < due.length; i += MAX_DOCS_PER_CALL) await this.send(due.slice(i, i + MAX_DOCS_PER_CALL).map((p) => p.text));
        this.stats.lagSeconds = Date.now() / 1000 - Math.max(...due.map((p) => p.end));
      }
      await new Promise((r) => setTimeout(r, Math.max(0, this.tickMs - (Date.now() - t0))));
    }
  }

  /** Counted once answered, so that `sent` and `accepted` read at any moment agree on what is in flight. */
  private async send(texts: string[]): Promise<void> {
    try {
      const res = await fetch(`${this.baseUrl}/TraceSegments`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ TraceSegmentDocuments: texts }),
      });
      const body = (await res.json().catch(() => ({}))) as { UnprocessedTraceSegments?: unknown[] };
      if (res.status === 429 || res.status === 503) this.stats.throttled += texts.length;
      else if (!res.ok) this.stats.failedCalls++;
      else this.stats.accepted += texts.length - (body.UnprocessedTraceSegments?.length ?? 0);
    } catch {
      this.stats.failedCalls++;
    }
    this.stats.sent += texts.length;
  }
}
