/**
 * The simulator's scenario model: a call graph of instrumented services and uninstrumented
 * dependencies, the traffic that enters it, how the entry samples, and what goes wrong when.
 * Scenarios are code (src/sim/scenarios/), checked once by `compileScenario`.
 */

/** Which X-Ray SDK a service runs; only changes `aws.xray` and `service` as each SDK writes them. */
export type SdkFlavour = 'node' | 'java' | 'go' | 'python';

export interface ServiceSpec {
  name: string;
  /** the segment's `origin` (AWS resource type), e.g. `AWS::ECS::Container`; none when omitted */
  origin?: string;
  /** median latency of its own work (excluding its calls), ms */
  medianMs: number;
  /** sigma of the underlying normal of the log-normal own-work latency */
  sigma: number;
  /** probability that its own code faults (5xx) */
  faultRate: number;
  /** probability that it rejects the request as a client error (4xx) @defaultValue 0 */
  errorRate?: number;
  /** probability that it rejects the request with 429 @defaultValue 0 */
  throttleRate?: number;
  calls?: CallSpec[];
  /** make its calls concurrently (fan-out) instead of one after another @defaultValue false */
  parallel?: boolean;
  /** path it serves, for `http.request.url` @defaultValue '/api' */
  route?: string;
  /** @defaultValue 'GET' */
  method?: string;
  /** `service.version` @defaultValue '1.0.0' */
  version?: string;
  /** @defaultValue 'node' */
  sdk?: SdkFlavour;
}

interface CallCommon {
  /** probability that a request makes this call @defaultValue 1 */
  probability?: number;
  /** probability that a failed call (fault or throttle) is absorbed (fallback, default value) instead of failing the caller @defaultValue 0 */
  absorb?: number;
  /**
   * Attempts after a failed one. Calls to services and remote hosts record each attempt as its own
   * subsegment; AWS calls record one subsegment with `aws.retries`, as the AWS SDK does. @defaultValue 0
   */
  retries?: number;
}

/** A traced call to an instrumented service: a `remote` subsegment whose id is the callee segment's parent_id. */
export type ServiceCallSpec = CallCommon & { kind: 'service'; target: string };

/** A call to something that sends no segments: only the caller's subsegment records it. */
export type DependencyCallSpec = CallCommon & {
  kind: 'remote' | 'aws';
  /** host for `remote`, AWS service for `aws` (`DynamoDB`, `S3`, …) */
  name: string;
  medianMs: number;
  sigma: number;
  faultRate: number;
  /** @defaultValue 0 */
  errorRate?: number;
  /** @defaultValue 0 */
  throttleRate?: number;
  /** `aws.table_name` (the graph then types the node `AWS::<name>::Table`) */
  table?: string;
  /** `aws.operation` @defaultValue 'GetItem' */
  operation?: string;
  /** path of a remote call's URL @defaultValue '/' */
  path?: string;
  /** @defaultValue 'GET' */
  method?: string;
};

export type CallSpec = ServiceCallSpec | DependencyCallSpec;

/** X-Ray's local sampling rule: the first `reservoir` requests each second, then `rate` of the rest. */
export interface SamplingSpec {
  reservoir: number;
  rate: number;
}

/** The default rule of every X-Ray SDK (reference §6.3). */
export const DEFAULT_SAMPLING: SamplingSpec = Object.freeze({ reservoir: 1, rate: 0.05 });
export const SAMPLE_ALL: SamplingSpec = Object.freeze({ reservoir: 0, rate: 1 });

export interface EntrySpec {
  service: string;
  /** share of the client requests that arrive here; shares are normalised */
  share: number;
}

export interface TrafficSpec {
  /** mean client requests per second across all entries, before sampling */
  rate: number;
  entries: EntrySpec[];
  /** relative amplitude of the slow sinusoid (diurnal-ish) @defaultValue 0 */
  amplitude?: number;
  /** @defaultValue 86400 */
  periodSeconds?: number;
  /** radians @defaultValue 0 */
  phase?: number;
  /** relative amplitude of smooth random variation @defaultValue 0 */
  noise?: number;
  /** correlation length of that variation, seconds @defaultValue 300 */
  noiseSeconds?: number;
}

export type IncidentKind = 'fault' | 'latency' | 'throttle';

/**
 * Something that goes wrong in `target` (a service or a dependency name) during [start, end):
 * `fault` and `throttle` add `magnitude` as a probability (combined with the base rate as
 * independent causes); `latency` multiplies its own work (a dependency: the whole call) by it.
 */
export interface IncidentSpec {
  id: string;
  kind: IncidentKind;
  target: string;
  /** epoch seconds */
  start: number;
  end: number;
  magnitude: number;
  description?: string;
}

/** More client traffic for a while: a non-incident the detector should not report. */
export interface SurgeSpec {
  id: string;
  start: number;
  end: number;
  multiplier: number;
  description?: string;
}

/** A new version of a service whose own work is `latencyFactor` times slower from `at` on, for good. */
export interface DeploySpec {
  id: string;
  target: string;
  at: number;
  latencyFactor: number;
  /** `service.version` from then on */
  version?: string;
  description?: string;
}

export interface Scenario {
  name: string;
  description: string;
  seed: number;
  /** epoch seconds of the first request */
  start: number;
  /** epoch seconds; no request starts at or after it */
  end: number;
  services: ServiceSpec[];
  traffic: TrafficSpec;
  sampling: SamplingSpec;
  incidents: IncidentSpec[];
  surges?: SurgeSpec[];
  deploys?: DeploySpec[];
}

/** What the command line can change about a shipped scenario. */
export interface ScenarioParams {
  seed: number;
  /** epoch seconds */
  start: number;
  hours: number;
  /** client requests per second before sampling */
  rate: number;
}

export interface ScenarioDefinition {
  name: string;
  description: string;
  defaults: Readonly<ScenarioParams>;
  build(params: ScenarioParams): Scenario;
}

/** A node as our service graph names it: a segment's name and origin, or an inferred dependency. */
export interface NodeLabel {
  name: string;
  /** the origin ('' when none), `remote`, or `AWS::<Name>` / `AWS::<Name>::Table` */
  type: string;
}

export interface IncidentLabel {
  id: string;
  kind: IncidentKind;
  start: number;
  end: number;
  magnitude: number;
  rootCause: NodeLabel;
  description?: string;
}

export interface NonIncidentLabel {
  id: string;
  kind: 'traffic-surge' | 'deploy';
  start: number;
  /** a deploy lasts until the end of the scenario */
  end: number;
  /** the surge's multiplier or the deploy's latency factor */
  magnitude: number;
  target?: NodeLabel;
  description?: string;
}

/** The answer key written next to the documents. */
export interface Labels {
  scenario: string;
  seed: number;
  start: number;
  end: number;
  windowSecondsHint: 60;
  rate: number;
  sampling: SamplingSpec;
  incidents: IncidentLabel[];
  nonIncidents: NonIncidentLabel[];
}
