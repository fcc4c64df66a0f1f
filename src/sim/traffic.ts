import { Rng } from './random.js';

/**
 * A small seeded traffic generator in the shapes aws-xray-sdk-core sends (../shared/captures): a front
 * service calling instrumented back-ends (traced remote calls, linked by parent_id) and uninstrumented
 * remote/aws dependencies. Used by tests and benchmarks; the scenario simulator builds on it.
 */
export interface ServiceSpec {
  name: string;
  origin?: string;
  /** median latency of its own work, ms */
  medianMs: number;
  sigma: number;
  /** probability that its own code faults */
  faultRate: number;
  errorRate?: number;
  throttleRate?: number;
  calls?: CallSpec[];
}

export type CallSpec =
  | { kind: 'service'; target: string; probability?: number }
  | { kind: 'remote' | 'aws'; name: string; medianMs: number; sigma: number; faultRate: number; probability?: number; table?: string };

export interface TrafficOptions {
  seed: number;
  services: ServiceSpec[];
  /** name of the service receiving client requests */
  entry: string;
  /** epoch seconds of the first request */
  startTime: number;
  /** requests per second of event time */
  rate: number;
}

export interface GeneratedRequest {
  /** documents of this request, callees before callers (the order SDKs finish in) */
  docs: Array<Record<string, unknown>>;
  /** event time of the request start */
  time: number;
}

const round3 = (x: number) => Math.round(x * 1e6) / 1e6;

/** Infinite generator of client requests, each a set of segment documents. */
export function* traffic(opts: TrafficOptions): Generator<GeneratedRequest> {
  const rng = new Rng(opts.seed);
  const byName = new Map(opts.services.map((s) => [s.name, s]));
  let t = opts.startTime;
  for (;;) {
    t += -Math.log(1 - rng.next()) / opts.rate;
    const traceId = `1-${Math.floor(t).toString(16).padStart(8, '0')}-${rng.hex(24)}`;
    const docs: Array<Record<string, unknown>> = [];
    serve(byName.get(opts.entry)!, t, undefined);
    yield { docs, time: t };

    function serve(svc: ServiceSpec, start: number, parentId: string | undefined): { end: number; fault: boolean; error: boolean; throttle: boolean } {
      const id = rng.hex(16);
      let cursor = start + rng.logNormal(svc.medianMs, svc.sigma) / 2000;
      const subsegments: Array<Record<string, unknown>> = [];
      let downstreamFault = false;
      for (const call of svc.calls ?? []) {
        if (call.probability !== undefined && rng.next() >= call.probability) continue;
        const subId = rng.hex(16);
        const subStart = cursor;
        let r: { end: number; fault: boolean; error: boolean; throttle: boolean };
        const sub: Record<string, unknown> = { id: subId, start_time: round3(subStart) };
        if (call.kind === 'service') {
          const target = byName.get(call.target)!;
          r = serve(target, subStart + 0.0005, subId);
          r = { ...r, end: r.end + 0.0005 };
          Object.assign(sub, { name: call.target, namespace: 'remote', traced: true, http: { request: { method: 'GET', url: `http://${call.target}/` }, response: { status: r.fault ? 502 : 200 } } });
        } else {
          const fault = rng.next() < call.faultRate;
          r = { end: subStart + rng.logNormal(call.medianMs, call.sigma) / 1000, fault, error: false, throttle: false };
          Object.assign(sub, { name: call.name, namespace: call.kind });
          if (call.kind === 'aws') sub.aws = { operation: 'GetItem', ...(call.table ? { table_name: call.table } : {}), region: 'us-east-1' };
          sub.http = { response: { status: fault ? 500 : 200 } };
        }
        if (r.fault) sub.fault = true;
        sub.end_time = round3(r.end);
        subsegments.push(sub);
        downstreamFault ||= r.fault;
        cursor = r.end;
      }
      const end = cursor + rng.logNormal(svc.medianMs, svc.sigma) / 2000;
      const own = rng.next();
      const ownFault = own < svc.faultRate;
      const throttle = !ownFault && own < svc.faultRate + (svc.throttleRate ?? 0);
      const error = throttle || (!ownFault && own < svc.faultRate + (svc.throttleRate ?? 0) + (svc.errorRate ?? 0));
      const fault = ownFault || downstreamFault;
      const status = fault ? 500 : throttle ? 429 : error ? 400 : 200;
      const doc: Record<string, unknown> = {
        trace_id: traceId,
        id,
        name: svc.name,
        start_time: round3(start),
        end_time: round3(end),
        ...(parentId ? { parent_id: parentId } : {}),
        ...(svc.origin ? { origin: svc.origin } : {}),
        service: { version: '1.0.0' },
        aws: { xray: { sdk: 'X-Ray for Node.js', sdk_version: '3.12.0', package: 'aws-xray-sdk-core' } },
        http: { request: { method: 'GET', url: `http://${svc.name}/api`, client_ip: '10.0.0.1' }, response: { status } },
        annotations: { tier: 'gold' },
        ...(fault ? { fault: true } : {}),
        ...(error ? { error: true } : {}),
        ...(throttle ? { throttle: true } : {}),
        ...(subsegments.length ? { subsegments } : {}),
      };
      docs.push(doc);
      return { end, fault, error, throttle };
    }
  }
}

/** The shop from the X-Ray lesson, used by tests and benchmarks. */
export const SHOP: ServiceSpec[] = [
  { name: 'api-gateway', origin: 'AWS::ApiGateway::Stage', medianMs: 4, sigma: 0.3, faultRate: 0.001, errorRate: 0.01, calls: [{ kind: 'service', target: 'OrderService' }] },
  {
    name: 'OrderService',
    origin: 'AWS::ECS::Container',
    medianMs: 20,
    sigma: 0.4,
    faultRate: 0.005,
    throttleRate: 0.002,
    calls: [
      { kind: 'service', target: 'PaymentService', probability: 0.8 },
      { kind: 'service', target: 'InventoryService' },
    ],
  },
  { name: 'PaymentService', origin: 'AWS::EC2::Instance', medianMs: 15, sigma: 0.4, faultRate: 0.003, calls: [{ kind: 'remote', name: 'api.payments.example.com', medianMs: 350, sigma: 0.3, faultRate: 0.01 }] },
  { name: 'InventoryService', origin: 'AWS::Lambda::Function', medianMs: 10, sigma: 0.5, faultRate: 0.002, calls: [{ kind: 'aws', name: 'DynamoDB', medianMs: 8, sigma: 0.4, faultRate: 0.004, table: 'inventory' }] },
];
