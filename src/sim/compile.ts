import { AppError } from '../util/errors.js';
import { q } from './json-text.js';
import type { DependencyCallSpec, NodeLabel, Scenario, SdkFlavour, ServiceSpec } from './model.js';
import { awsJson } from './sdk-shapes.js';

/**
 * A scenario checked and indexed for the hot loop: services and dependencies are numbered nodes
 * (services first), so incidents and deploys become per-node numbers in flat arrays.
 */
export interface CompiledService {
  idx: number;
  name: string;
  origin: string;
  medianMs: number;
  sigma: number;
  faultRate: number;
  errorRate: number;
  throttleRate: number;
  parallel: boolean;
  method: string;
  url: string;
  version: string;
  sdk: SdkFlavour;
  /** private address its own outbound calls come from, for the callee's `http.request.client_ip` */
  ip: string;
  calls: CompiledCall[];
  /** JSON text pieces of its segments */
  json: { name: string; origin: string; aws: string; request: string };
}

export interface CompiledDependency {
  idx: number;
  name: string;
  kind: 'remote' | 'aws';
  type: string;
}

export interface CompiledCall {
  probability: number;
  absorb: number;
  retries: number;
  /** set for calls to instrumented services */
  service?: CompiledService;
  /** set for calls to uninstrumented dependencies */
  dep?: CompiledDependency;
  spec?: DependencyCallSpec;
  method: string;
  url: string;
  errorRate: number;
  throttleRate: number;
  /** address of the caller, for the callee segment's `http.request.client_ip` */
  callerIp: string;
  /** JSON text pieces of its subsegments: the name, `http` up to the status, `aws` around the retry count */
  json: { name: string; http: string; awsHead: string; awsTail: string };
}

export interface CompiledModel {
  services: CompiledService[];
  deps: CompiledDependency[];
  /** services + dependencies */
  nodeCount: number;
  entries: Array<{ service: CompiledService; share: number }>;
  /** node index by name (service or dependency) */
  indexOf(name: string): number | undefined;
  label(name: string): NodeLabel;
}

const invalid = (message: string) => new AppError('SIM_INVALID_SCENARIO', message);

/** The node type our service graph gives an AWS dependency (same rule as awsTypeOf in src/ingest/parse.ts). */
export function awsNodeType(name: string, table: string | undefined): string {
  const n = name.replace(/\s+/g, '');
  return table ? `AWS::${n}::Table` : `AWS::${n}`;
}

/** `http` of a call subsegment up to (not including) the status, as the SDK writes it. */
function httpHead(url: string, method: string): string {
  return `{"request":{"url":${q(url)},"method":${q(method)}},"response":{"status":`;
}

function checkProbability(what: string, p: number | undefined): void {
  if (p !== undefined && !(p >= 0 && p <= 1)) throw invalid(`${what} must be a probability, got ${p}`);
}

export function compileScenario(scenario: Scenario): CompiledModel {
  const specs = new Map<string, ServiceSpec>();
  for (const s of scenario.services) {
    if (specs.has(s.name)) throw invalid(`service "${s.name}" is defined twice`);
    if (!(s.medianMs > 0) || !(s.sigma >= 0)) throw invalid(`service "${s.name}": medianMs must be > 0 and sigma >= 0`);
    for (const [k, p] of [['faultRate', s.faultRate], ['errorRate', s.errorRate], ['throttleRate', s.throttleRate]] as const) checkProbability(`${s.name}.${k}`, p);
    specs.set(s.name, s);
  }

  const services: CompiledService[] = scenario.services.map((s, idx) => {
    const url = `http://${s.name}${s.route ?? '/api'}`;
    const method = s.method ?? 'GET';
    return {
      idx,
      name: s.name,
      origin: s.origin ?? '',
      medianMs: s.medianMs,
      sigma: s.sigma,
      faultRate: s.faultRate,
      errorRate: s.errorRate ?? 0,
      throttleRate: s.throttleRate ?? 0,
      parallel: s.parallel ?? false,
      method,
      url,
      version: s.version ?? '1.0.0',
      sdk: s.sdk ?? 'node',
      ip: `10.0.${(idx >> 8) & 255}.${(idx & 255) + 1}`,
      calls: [],
      json: { name: q(s.name), origin: s.origin ? `,"origin":${q(s.origin)}` : '', aws: awsJson(s.sdk ?? 'node'), request: `{"method":${q(method)},"url":${q(url)}` },
    };
  });
  const byService = new Map(services.map((s) => [s.name, s]));

  const deps: CompiledDependency[] = [];
  const byDep = new Map<string, CompiledDependency>();
  scenario.services.forEach((s, i) => {
    const caller = services[i]!;
    for (const call of s.calls ?? []) {
      checkProbability(`${s.name} call probability`, call.probability);
      checkProbability(`${s.name} call absorb`, call.absorb);
      if (call.retries !== undefined && !(Number.isInteger(call.retries) && call.retries >= 0)) throw invalid(`${s.name}: retries must be a non-negative integer`);
      const common = { probability: call.probability ?? 1, absorb: call.absorb ?? 0, retries: call.retries ?? 0 };
      if (call.kind === 'service') {
        const target = byService.get(call.target);
        if (!target) throw invalid(`${s.name} calls unknown service "${call.target}"`);
        caller.calls.push({ ...common, service: target, method: target.method, url: target.url, errorRate: 0, throttleRate: 0, callerIp: caller.ip, json: { name: target.json.name, http: httpHead(target.url, target.method), awsHead: '', awsTail: '' } });
        continue;
      }
      if (byService.has(call.name)) throw invalid(`dependency "${call.name}" has the name of a service`);
      for (const [k, p] of [['faultRate', call.faultRate], ['errorRate', call.errorRate], ['throttleRate', call.throttleRate]] as const) checkProbability(`${s.name} → ${call.name} ${k}`, p);
      const type = call.kind === 'remote' ? 'remote' : awsNodeType(call.name, call.table);
      let dep = byDep.get(call.name);
      if (!dep) {
        dep = { idx: scenario.services.length + deps.length, name: call.name, kind: call.kind, type };
        deps.push(dep);
        byDep.set(call.name, dep);
      } else if (dep.type !== type) {
        // one name, one node: an incident targets it by name, and the labels name its type
        throw invalid(`dependency "${call.name}" is called as ${dep.type} and as ${type}`);
      }
      const method = call.method ?? (call.kind === 'aws' ? 'POST' : 'GET');
      const url = call.kind === 'remote' ? `https://${call.name}${call.path ?? '/'}` : '';
      caller.calls.push({
        ...common,
        dep,
        spec: call,
        method,
        url,
        errorRate: call.errorRate ?? 0,
        throttleRate: call.throttleRate ?? 0,
        // the AWS SDK's subsegments carry only the response in `http`
        callerIp: caller.ip,
        json: {
          name: q(call.name),
          http: call.kind === 'remote' ? httpHead(url, method) : '{"response":{"status":',
          awsHead: `{"operation":${q(call.operation ?? 'GetItem')},"region":"us-east-1","retries":`,
          awsTail: call.table ? `,"table_name":${q(call.table)}}` : '}',
        },
      });
    }
  });

  // a request must end: the call graph has to be acyclic
  const state = new Map<string, 1 | 2>();
  const visit = (s: CompiledService, path: string[]): void => {
    if (state.get(s.name) === 2) return;
    if (state.get(s.name) === 1) throw invalid(`call cycle: ${[...path, s.name].join(' → ')}`);
    state.set(s.name, 1);
    for (const c of s.calls) if (c.service) visit(c.service, [...path, s.name]);
    state.set(s.name, 2);
  };
  for (const s of services) visit(s, []);

  if (!scenario.traffic.entries.length) throw invalid('traffic needs at least one entry service');
  const total = scenario.traffic.entries.reduce((a, e) => a + e.share, 0);
  if (!(total > 0)) throw invalid('entry shares must add up to more than 0');
  const entries = scenario.traffic.entries.map((e) => {
    const service = byService.get(e.service);
    if (!service) throw invalid(`entry "${e.service}" is not a service`);
    return { service, share: e.share / total };
  });

  const indexOf = (name: string) => byService.get(name)?.idx ?? byDep.get(name)?.idx;
  const label = (name: string): NodeLabel => {
    const s = byService.get(name);
    if (s) return { name, type: s.origin };
    const d = byDep.get(name);
    if (d) return { name, type: d.type };
    throw invalid(`"${name}" is neither a service nor a dependency`);
  };

  for (const inc of scenario.incidents) {
    if (indexOf(inc.target) === undefined) throw invalid(`incident ${inc.id} targets unknown "${inc.target}"`);
    if (!(inc.end > inc.start)) throw invalid(`incident ${inc.id} must end after it starts`);
    if (inc.kind === 'latency' ? !(inc.magnitude > 0) : !(inc.magnitude >= 0 && inc.magnitude <= 1)) throw invalid(`incident ${inc.id}: bad magnitude ${inc.magnitude}`);
  }
  for (const d of scenario.deploys ?? []) {
    if (!byService.has(d.target)) throw invalid(`deploy ${d.id} targets unknown service "${d.target}"`);
    if (!(d.latencyFactor > 0)) throw invalid(`deploy ${d.id}: latencyFactor must be > 0`);
  }
  for (const s of scenario.surges ?? []) {
    if (!(s.end > s.start) || !(s.multiplier > 0)) throw invalid(`surge ${s.id}: needs end > start and multiplier > 0`);
  }
  if (!(scenario.end > scenario.start)) throw invalid('scenario must end after it starts');
  if (!(scenario.traffic.rate > 0)) throw invalid('traffic rate must be > 0');
  checkProbability('sampling rate', scenario.sampling.rate);
  if (!(scenario.sampling.reservoir >= 0)) throw invalid('sampling reservoir must be >= 0');

  return { services, deps, nodeCount: services.length + deps.length, entries, indexOf, label };
}
