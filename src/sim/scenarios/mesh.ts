import { SAMPLE_ALL, type DependencyCallSpec, type ScenarioDefinition, type ServiceSpec } from '../model.js';

/** 2026-10-02T00:00:00Z */
const MESH_START = 1_790_899_200;

const ECS = 'AWS::ECS::Container';
const EC2 = 'AWS::EC2::Instance';
const EKS = 'AWS::EKS::Container';
const LAMBDA = 'AWS::Lambda::Function';

const dynamo = (table: string, operation = 'GetItem'): DependencyCallSpec => ({ kind: 'aws', name: 'DynamoDB', table, operation, medianMs: 6, sigma: 0.4, faultRate: 0.0005, throttleRate: 0.0005 });

/**
 * A storefront of 22 services in four tiers behind two entry points (web and mobile BFFs), with
 * fan-out, optional calls that fall back when they fail, retries, and 14 uninstrumented
 * dependencies (DynamoDB shared by seven services).
 */
export function meshServices(): ServiceSpec[] {
  return [
    // tier 1: entry points
    {
      name: 'web-bff',
      origin: ECS,
      route: '/web/page',
      medianMs: 6,
      sigma: 0.3,
      faultRate: 0.0005,
      errorRate: 0.01,
      parallel: true,
      calls: [
        { kind: 'service', target: 'auth-service' },
        { kind: 'service', target: 'catalog-service', probability: 0.7 },
        { kind: 'service', target: 'recommendation-service', probability: 0.5, absorb: 1 },
        { kind: 'service', target: 'cart-service', probability: 0.35 },
      ],
    },
    {
      name: 'mobile-bff',
      origin: ECS,
      route: '/m/v2',
      medianMs: 5,
      sigma: 0.3,
      faultRate: 0.0005,
      errorRate: 0.015,
      calls: [
        { kind: 'service', target: 'auth-service' },
        { kind: 'service', target: 'catalog-service', probability: 0.5 },
        { kind: 'service', target: 'order-service', probability: 0.3 },
      ],
    },
    // tier 2
    {
      name: 'auth-service',
      origin: EKS,
      sdk: 'go',
      route: '/session',
      medianMs: 3,
      sigma: 0.4,
      faultRate: 0.0003,
      calls: [
        { kind: 'remote', name: 'redis.sessions.internal', medianMs: 1, sigma: 0.3, faultRate: 0.0002, path: '/get' },
        { kind: 'service', target: 'user-service', probability: 0.2 },
      ],
    },
    {
      name: 'catalog-service',
      origin: ECS,
      sdk: 'java',
      route: '/products',
      medianMs: 12,
      sigma: 0.4,
      faultRate: 0.001,
      parallel: true,
      calls: [
        { kind: 'service', target: 'search-service', probability: 0.6 },
        { kind: 'service', target: 'pricing-service' },
        { kind: 'service', target: 'inventory-service', probability: 0.8 },
        { kind: 'service', target: 'review-service', probability: 0.4, absorb: 1 },
        { kind: 'aws', name: 'S3', operation: 'GetObject', medianMs: 15, sigma: 0.4, faultRate: 0.0002, probability: 0.3 },
      ],
    },
    {
      name: 'recommendation-service',
      origin: ECS,
      sdk: 'python',
      route: '/recs',
      medianMs: 10,
      sigma: 0.4,
      faultRate: 0.001,
      calls: [
        { kind: 'remote', name: 'features.internal', medianMs: 4, sigma: 0.4, faultRate: 0.0005, path: '/features' },
        { kind: 'service', target: 'ml-scoring-service' },
      ],
    },
    { name: 'cart-service', origin: ECS, route: '/cart', medianMs: 8, sigma: 0.4, faultRate: 0.001, calls: [dynamo('carts'), { kind: 'service', target: 'pricing-service' }] },
    {
      name: 'order-service',
      origin: ECS,
      sdk: 'java',
      route: '/orders',
      method: 'POST',
      medianMs: 15,
      sigma: 0.4,
      faultRate: 0.001,
      calls: [
        { kind: 'service', target: 'inventory-service' },
        { kind: 'service', target: 'tax-service' },
        { kind: 'service', target: 'payment-service' },
        // a label can be bought later: half the shipping failures are queued for a retry instead of failing the order
        { kind: 'service', target: 'shipping-service', probability: 0.9, absorb: 0.5 },
        { kind: 'service', target: 'notification-service', absorb: 1 },
        { kind: 'aws', name: 'SQS', operation: 'SendMessage', medianMs: 5, sigma: 0.3, faultRate: 0.0003 },
      ],
    },
    // tier 3
    { name: 'user-service', origin: EC2, sdk: 'java', route: '/users', medianMs: 6, sigma: 0.4, faultRate: 0.0005, calls: [dynamo('users')] },
    {
      name: 'search-service',
      origin: EC2,
      sdk: 'java',
      route: '/search',
      medianMs: 8,
      sigma: 0.4,
      faultRate: 0.0005,
      calls: [{ kind: 'remote', name: 'search.es.internal', medianMs: 25, sigma: 0.5, faultRate: 0.0005, path: '/products/_search', method: 'POST' }],
    },
    {
      name: 'pricing-service',
      origin: ECS,
      sdk: 'go',
      route: '/prices',
      medianMs: 4,
      sigma: 0.3,
      faultRate: 0.0005,
      calls: [dynamo('prices', 'BatchGetItem'), { kind: 'service', target: 'promotions-service', probability: 0.5, absorb: 1 }, { kind: 'service', target: 'currency-service', probability: 0.3, absorb: 0.9 }],
    },
    { name: 'inventory-service', origin: LAMBDA, route: '/stock', medianMs: 6, sigma: 0.5, faultRate: 0.0005, calls: [dynamo('inventory')] },
    { name: 'review-service', origin: LAMBDA, route: '/reviews', medianMs: 5, sigma: 0.4, faultRate: 0.001, calls: [dynamo('reviews', 'Query')] },
    {
      name: 'ml-scoring-service',
      origin: ECS,
      sdk: 'python',
      route: '/score',
      method: 'POST',
      medianMs: 20,
      sigma: 0.4,
      faultRate: 0.001,
      calls: [{ kind: 'aws', name: 'SageMakerRuntime', operation: 'InvokeEndpoint', medianMs: 30, sigma: 0.3, faultRate: 0.0005 }],
    },
    {
      name: 'tax-service',
      origin: ECS,
      sdk: 'go',
      route: '/tax',
      medianMs: 3,
      sigma: 0.3,
      faultRate: 0.0003,
      calls: [{ kind: 'remote', name: 'api.tax.example.com', medianMs: 60, sigma: 0.3, faultRate: 0.003, retries: 1, path: '/v2/quote', method: 'POST' }],
    },
    {
      name: 'payment-service',
      origin: EC2,
      sdk: 'java',
      route: '/charge',
      method: 'POST',
      medianMs: 12,
      sigma: 0.4,
      faultRate: 0.0005,
      calls: [
        { kind: 'service', target: 'fraud-service' },
        { kind: 'remote', name: 'api.payments.example.com', medianMs: 300, sigma: 0.3, faultRate: 0.003, path: '/v1/charges', method: 'POST' },
        { kind: 'service', target: 'ledger-service' },
      ],
    },
    {
      name: 'shipping-service',
      origin: ECS,
      route: '/shipments',
      method: 'POST',
      medianMs: 8,
      sigma: 0.4,
      faultRate: 0.0005,
      calls: [{ kind: 'service', target: 'address-service' }, { kind: 'remote', name: 'api.carrier.example.com', medianMs: 120, sigma: 0.4, faultRate: 0.003, path: '/labels', method: 'POST' }],
    },
    { name: 'notification-service', origin: LAMBDA, sdk: 'python', route: '/notify', method: 'POST', medianMs: 5, sigma: 0.4, faultRate: 0.001, calls: [{ kind: 'aws', name: 'SNS', operation: 'Publish', medianMs: 12, sigma: 0.3, faultRate: 0.0005 }] },
    // tier 4
    { name: 'promotions-service', origin: ECS, route: '/promotions', medianMs: 3, sigma: 0.4, faultRate: 0.0005, calls: [dynamo('promotions', 'Query')] },
    {
      name: 'currency-service',
      origin: ECS,
      sdk: 'go',
      route: '/fx',
      medianMs: 2,
      sigma: 0.3,
      faultRate: 0.0003,
      calls: [{ kind: 'remote', name: 'api.fx.example.com', medianMs: 40, sigma: 0.3, faultRate: 0.002, path: '/latest' }],
    },
    {
      name: 'fraud-service',
      origin: ECS,
      sdk: 'python',
      route: '/assess',
      method: 'POST',
      medianMs: 18,
      sigma: 0.4,
      faultRate: 0.0005,
      calls: [{ kind: 'remote', name: 'fraud-api.vendor.example.com', medianMs: 80, sigma: 0.3, faultRate: 0.002, path: '/score', method: 'POST' }],
    },
    {
      name: 'ledger-service',
      origin: EC2,
      sdk: 'java',
      route: '/entries',
      method: 'POST',
      medianMs: 6,
      sigma: 0.4,
      faultRate: 0.0005,
      calls: [{ kind: 'remote', name: 'postgres.ledger.internal', medianMs: 5, sigma: 0.5, faultRate: 0.0003, path: '/ledger' }],
    },
    { name: 'address-service', origin: LAMBDA, route: '/addresses', medianMs: 4, sigma: 0.4, faultRate: 0.0005, calls: [dynamo('addresses')] },
  ];
}

export const mesh: ScenarioDefinition = {
  name: 'mesh',
  description:
    '22 services in four tiers behind web and mobile BFFs, 14 uninstrumented dependencies, every request sampled; after a 65-min warm-up six incidents, two pairs of which overlap in independent subtrees (carrier API faults with search latency; fraud-service faults with SageMaker latency).',
  defaults: { seed: 20261002, start: MESH_START, hours: 4, rate: 4 },
  build(p) {
    const at = (h: number, m: number) => p.start + h * 3600 + m * 60;
    return {
      name: 'mesh',
      description: mesh.description,
      seed: p.seed,
      start: p.start,
      end: p.start + p.hours * 3600,
      services: meshServices(),
      traffic: { rate: p.rate, entries: [{ service: 'web-bff', share: 0.65 }, { service: 'mobile-bff', share: 0.35 }], amplitude: 0.3, periodSeconds: 86_400, phase: 0, noise: 0.12, noiseSeconds: 240 },
      sampling: SAMPLE_ALL,
      incidents: [
        { id: 'mesh-carrier-faults', kind: 'fault', target: 'api.carrier.example.com', start: at(1, 5), end: at(1, 17), magnitude: 0.5, description: 'the carrier API fails half the label requests; shipping-service passes them up, order-service absorbs half' },
        { id: 'mesh-search-latency', kind: 'latency', target: 'search.es.internal', start: at(1, 10), end: at(1, 22), magnitude: 6, description: 'the search cluster is 6× slower (overlaps the carrier faults, in another subtree)' },
        { id: 'mesh-user-throttling', kind: 'throttle', target: 'user-service', start: at(1, 50), end: at(2, 0), magnitude: 0.4, description: 'user-service rejects 40 % with 429; auth-service and the BFFs pass the 429 up' },
        { id: 'mesh-fraud-faults', kind: 'fault', target: 'fraud-service', start: at(2, 30), end: at(2, 42), magnitude: 0.3, description: 'fraud-service faults 30 % of assessments itself' },
        { id: 'mesh-sagemaker-latency', kind: 'latency', target: 'SageMakerRuntime', start: at(2, 35), end: at(2, 47), magnitude: 4, description: 'the scoring endpoint is 4× slower (overlaps the fraud faults, in another subtree)' },
        { id: 'mesh-dynamodb-faults', kind: 'fault', target: 'DynamoDB', start: at(3, 15), end: at(3, 25), magnitude: 0.15, description: 'DynamoDB fails 15 % of calls from all seven services that use it' },
      ],
    };
  },
};
