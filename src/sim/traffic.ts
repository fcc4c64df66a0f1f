import { SAMPLE_ALL, type Scenario, type ServiceSpec } from './model.js';
import { Simulation } from './simulate.js';

export type { CallSpec, ServiceSpec } from './model.js';

/**
 * Unsampled, incident-free traffic through a call graph, one request at a time, in the shapes
 * aws-xray-sdk-core sends (test/fixtures/captures). A thin front on the scenario simulator
 * (`simulate()` in ./simulate.ts) for tests and benchmarks that want a steady stream.
 */
export interface TrafficOptions {
  seed: number;
  services: ServiceSpec[];
  /** name of the service receiving client requests */
  entry: string;
  /** epoch seconds; requests arrive after it */
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

/** Infinite generator of client requests (Poisson arrivals at a constant rate), each a set of segment documents. */
export function* traffic(opts: TrafficOptions): Generator<GeneratedRequest> {
  const scenario: Scenario = {
    name: 'traffic',
    description: 'steady traffic',
    seed: opts.seed,
    start: opts.startTime,
    end: Infinity,
    services: opts.services,
    traffic: { rate: opts.rate, entries: [{ service: opts.entry, share: 1 }] },
    sampling: SAMPLE_ALL,
    incidents: [],
  };
  yield* new Simulation(scenario).requests();
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
