import { DEFAULT_SAMPLING, type ScenarioDefinition, type ServiceSpec, type TrafficSpec } from '../model.js';

/** 2026-10-01T00:00:00Z: a fixed past start, so files are the same byte for byte on every run. */
const SHOP_START = 1_790_812_800;

/**
 * The shop from the X-Ray lesson: API Gateway → OrderService, which checks stock with
 * InventoryService (→ DynamoDB) and then charges through PaymentService (→ an external payment API
 * at ~350 ms). Shared by the `shop` and `control` scenarios.
 */
export function shopServices(): ServiceSpec[] {
  return [
    {
      name: 'api-gateway',
      origin: 'AWS::ApiGateway::Stage',
      route: '/prod/orders',
      method: 'POST',
      medianMs: 4,
      sigma: 0.3,
      faultRate: 0.0005,
      errorRate: 0.01,
      calls: [{ kind: 'service', target: 'OrderService' }],
    },
    {
      name: 'OrderService',
      origin: 'AWS::ECS::Container',
      route: '/orders',
      method: 'POST',
      version: '2.4.1',
      medianMs: 20,
      sigma: 0.4,
      faultRate: 0.002,
      calls: [
        { kind: 'service', target: 'InventoryService' },
        { kind: 'service', target: 'PaymentService', probability: 0.8 },
      ],
    },
    {
      name: 'PaymentService',
      origin: 'AWS::EC2::Instance',
      sdk: 'java',
      route: '/charge',
      method: 'POST',
      version: '5.0.3',
      medianMs: 15,
      sigma: 0.4,
      faultRate: 0.001,
      // a charge is not idempotent: no retries, no fallback
      calls: [{ kind: 'remote', name: 'api.payments.example.com', path: '/v1/charges', method: 'POST', medianMs: 350, sigma: 0.3, faultRate: 0.004 }],
    },
    {
      name: 'InventoryService',
      origin: 'AWS::Lambda::Function',
      route: '/stock',
      version: '1.0.0',
      medianMs: 10,
      sigma: 0.5,
      faultRate: 0.001,
      calls: [{ kind: 'aws', name: 'DynamoDB', operation: 'GetItem', table: 'inventory', medianMs: 8, sigma: 0.4, faultRate: 0.001, throttleRate: 0.002, retries: 2 }],
    },
  ];
}

/** A morning: rising slowly from the daily mean, with a few minutes' wobble. */
export function shopTraffic(rate: number): TrafficSpec {
  return { rate, entries: [{ service: 'api-gateway', share: 1 }], amplitude: 0.25, periodSeconds: 86_400, phase: 0, noise: 0.1, noiseSeconds: 300 };
}

export const shop: ScenarioDefinition = {
  name: 'shop',
  description:
    'The X-Ray lesson shop (API Gateway → OrderService → InventoryService → DynamoDB, → PaymentService → api.payments.example.com), default sampling (1/s + 5 %); after a 65-min warm-up: payment API fault surge, DynamoDB latency surge, InventoryService throttling, OrderService fault surge.',
  defaults: { seed: 20261001, start: SHOP_START, hours: 3, rate: 10 },
  build(p) {
    const at = (h: number, m: number) => p.start + h * 3600 + m * 60;
    return {
      name: 'shop',
      description: shop.description,
      seed: p.seed,
      start: p.start,
      end: p.start + p.hours * 3600,
      services: shopServices(),
      traffic: shopTraffic(p.rate),
      sampling: DEFAULT_SAMPLING,
      incidents: [
        { id: 'shop-payment-api-faults', kind: 'fault', target: 'api.payments.example.com', start: at(1, 5), end: at(1, 15), magnitude: 0.3, description: 'the external payment API fails 30 % of charges; PaymentService, OrderService and the gateway pass the 5xx up' },
        { id: 'shop-dynamodb-latency', kind: 'latency', target: 'DynamoDB', start: at(1, 35), end: at(1, 47), magnitude: 5, description: 'DynamoDB GetItem on the inventory table is 5× slower' },
        { id: 'shop-inventory-throttling', kind: 'throttle', target: 'InventoryService', start: at(2, 5), end: at(2, 13), magnitude: 0.3, description: 'InventoryService (Lambda concurrency limit) rejects 30 % of requests with 429; the 429 is passed up' },
        { id: 'shop-order-faults', kind: 'fault', target: 'OrderService', start: at(2, 35), end: at(2, 45), magnitude: 0.2, description: 'a bad OrderService code path faults 20 % of orders itself' },
      ],
    };
  },
};
