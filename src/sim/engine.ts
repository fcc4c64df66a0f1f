import type { CompiledCall, CompiledModel, CompiledService } from './compile.js';
import { either, type Effects } from './effects.js';
import { q, secondsJson } from './json-text.js';
import { hex8, type Rng } from './random.js';
import { AWS_FAULT, AWS_THROTTLE, FAULT_EXCEPTIONS, serviceJson, TIERS, USER_AGENTS } from './sdk-shapes.js';

/** One X-Ray document as the SDK would send it (a segment with embedded subsegments). */
export type SimDocument = Record<string, unknown>;

/** How a request or call ended, worst last so the larger one is what is passed up. */
export const OK = 0;
export const ERROR = 1;
export const THROTTLE = 2;
export const FAULT = 3;
type Outcome = typeof OK | typeof ERROR | typeof THROTTLE | typeof FAULT;

/** The flags the SDKs derive from a status (reference §1.10): 4xx error, 429 also throttle, 5xx fault. */
function flagsJson(status: number, throttled = status === 429): string {
  if (status >= 500) return ',"fault":true';
  if (status >= 400) return throttled ? ',"error":true,"throttle":true' : ',"error":true';
  return '';
}

const Q_TIERS = TIERS.map((t) => `,"annotations":{"customer_tier":${q(t)}}`);
const Q_AGENTS = USER_AGENTS.map(q);
const Q_FAULTS = FAULT_EXCEPTIONS.map((e) => `"message":${q(e.message)},"type":${q(e.type)}`);
const Q_AWS_FAULT = `"message":${q(AWS_FAULT.message)},"type":${q(AWS_FAULT.type)}`;
const Q_AWS_THROTTLE = `"message":${q(AWS_THROTTLE.message)},"type":${q(AWS_THROTTLE.type)}`;

/**
 * Builds the documents of one client request by walking the call graph: own work is log-normal,
 * latency adds up along the chain, a callee's fault or throttle fails the caller's call subsegment
 * and is passed up unless retried away or absorbed. Documents are written as JSON text straight
 * away (see json-text.ts); times are kept in integer milliseconds, the precision the Node SDK sends.
 */
export class TraceBuilder {
  /** JSON text of the last request's documents, callees before callers (the order SDKs finish in) */
  readonly texts: string[] = [];
  /** start_time of each, in epoch milliseconds */
  readonly starts: number[] = [];
  /** documents generated per service index, over all requests */
  readonly perService: Float64Array;
  private traceId = '';
  private readonly serviceJson = new Map<string, string>();
  // results of the last serve()/call(), read right after it returns; saves an object per call
  private rEnd = 0;
  private rOutcome: Outcome = OK;
  private rStatus = 200;
  /** JSON text of the last call's subsegments (one per attempt), comma-separated */
  private subText = '';

  constructor(
    model: CompiledModel,
    private readonly rng: Rng,
    private readonly effects: Effects,
  ) {
    this.perService = new Float64Array(model.services.length);
  }

  /** Builds one request entering at `entry` at event time `t` (seconds) into `texts`/`starts`; returns the entry's outcome. */
  request(entry: CompiledService, t: number): number {
    this.effects.at(t);
    this.texts.length = 0;
    this.starts.length = 0;
    const start = Math.round(t * 1000);
    // the trace id carries the epoch second of the start_time the root segment shows
    this.traceId = `"1-${hex8(Math.floor(start / 1000))}-${this.rng.hex(24)}"`;
    this.serve(entry, start, undefined, undefined);
    return this.rOutcome;
  }

  private serviceBlock(svc: CompiledService, version: string): string {
    const key = `${svc.sdk}\u0000${version}`;
    let j = this.serviceJson.get(key);
    if (j === undefined) this.serviceJson.set(key, (j = serviceJson(svc.sdk, version)));
    return j;
  }

  private serve(svc: CompiledService, start: number, parentId: string | undefined, callerIp: string | undefined): void {
    const rng = this.rng;
    const eff = this.effects;
    const i = svc.idx;
    const id = rng.id16();
    const own = rng.logNormal(svc.medianMs, svc.sigma) * eff.latency[i]!;
    const pThrottle = either(svc.throttleRate, eff.throttle[i]!);
    const pError = svc.errorRate;
    const pFault = either(svc.faultRate, eff.fault[i]!);
    const r = rng.next();
    let outcome: Outcome = OK;
    let status = 200;
    let end: number;
    let cause = '';
    let subs = '';

    if (r < pThrottle) {
      // rejected at the door: no downstream work, a fraction of the usual time
      outcome = THROTTLE;
      status = 429;
      end = start + Math.round(own * 0.1);
    } else if (r < pThrottle + pError) {
      outcome = ERROR;
      status = rng.next() < 0.7 ? 400 : 404;
      end = start + Math.round(own * 0.2);
    } else {
      const ownFault = r < pThrottle + pError + pFault;
      const calls = svc.calls;
      const n = calls.length;
      // an own fault strikes somewhere along the way: calls after that point are never made
      const cut = ownFault ? Math.floor(rng.next() * (n + 1)) : n;
      let cursor = start + Math.round(own * 0.5);
      let passUp: Outcome = OK;
      if (svc.parallel) {
        let last = cursor;
        for (let k = 0; k < cut; k++) {
          const c = calls[k]!;
          if (c.probability < 1 && rng.next() >= c.probability) continue;
          // concurrent calls, started a moment apart as the handler issues them
          const propagated = this.call(c, cursor + (k >> 1));
          subs += (subs ? ',' : '') + this.subText;
          if (this.rEnd > last) last = this.rEnd;
          if (propagated > passUp) passUp = propagated;
        }
        cursor = last;
      } else {
        for (let k = 0; k < cut; k++) {
          const c = calls[k]!;
          if (c.probability < 1 && rng.next() >= c.probability) continue;
          const propagated = this.call(c, cursor);
          subs += (subs ? ',' : '') + this.subText;
          cursor = this.rEnd;
          if (propagated !== OK) {
            // a hard dependency failed: the handler stops there
            passUp = propagated;
            break;
          }
        }
      }
      end = cursor + Math.round(own * 0.5);
      if (passUp === FAULT) {
        // the callee's failure ended the request before its own bug could strike: passed up, not owned
        outcome = FAULT;
        status = 502;
      } else if (passUp === THROTTLE) {
        outcome = THROTTLE;
        status = 429;
      } else if (ownFault) {
        outcome = FAULT;
        status = 500;
        const ex = Q_FAULTS[rng.u32() % Q_FAULTS.length]!;
        cause = `,"cause":{"working_directory":"/srv/app","exceptions":[{${ex},"stack":[{"path":"/srv/app/handler.js","line":${40 + (i % 60)},"label":"handle"}],"remote":false,"id":"${rng.id16()}"}]}`;
      }
    }

    const j = svc.json;
    let s = `{"trace_id":${this.traceId},"id":"${id}","start_time":${secondsJson(start)},"name":${j.name}`;
    if (parentId !== undefined) s += `,"parent_id":"${parentId}"`;
    s += `${j.origin},"service":${this.serviceBlock(svc, eff.version[i] ?? svc.version)},"aws":${j.aws},"http":{"request":${j.request}`;
    if (parentId !== undefined) s += `,"client_ip":"${callerIp}"},"response":{"status":${status}}}`;
    else {
      s += `,"user_agent":${Q_AGENTS[rng.u32() % Q_AGENTS.length]},"client_ip":"203.0.113.${(rng.u32() % 250) + 1}","x_forwarded_for":true},"response":{"status":${status}}}`;
      s += Q_TIERS[rng.u32() % Q_TIERS.length];
    }
    s += flagsJson(status) + cause;
    if (subs) s += `,"subsegments":[${subs}]`;
    s += `,"end_time":${secondsJson(end)}}`;
    this.texts.push(s);
    this.starts.push(start);
    this.perService[i]!++;
    this.rEnd = end;
    this.rOutcome = outcome;
    this.rStatus = status;
  }

  /** Makes one call (with its retries) starting at `t0` ms; leaves its end in rEnd and its subsegments in subText, returns what it passes up. */
  private call(c: CompiledCall, t0: number): Outcome {
    const rng = this.rng;
    let t = t0;
    let outcome: Outcome;
    let text = '';
    if (c.service) {
      for (let attempt = 0; ; attempt++) {
        const subId = rng.id16();
        // the network (or proxy, or queue) between the two: what the caller measured minus what the callee did
        const gap = rng.logNormal(0.8, 0.4);
        this.serve(c.service, t + Math.round(gap * 0.5), subId, c.callerIp);
        const end = this.rEnd + Math.round(gap * 0.5);
        outcome = this.rOutcome;
        text +=
          (text ? ',' : '') +
          `{"id":"${subId}","name":${c.json.name},"start_time":${secondsJson(t)},"namespace":"remote","http":${c.json.http}${this.rStatus}}}` +
          `${flagsJson(this.rStatus)},"traced":true,"end_time":${secondsJson(end)}}`;
        t = end;
        if ((outcome === FAULT || outcome === THROTTLE) && attempt < c.retries) {
          t += backoff(rng, attempt);
          continue;
        }
        break;
      }
    } else {
      const dep = c.dep!;
      const spec = c.spec!;
      const eff = this.effects;
      const pThrottle = either(c.throttleRate, eff.throttle[dep.idx]!);
      const pFault = either(spec.faultRate, eff.fault[dep.idx]!);
      const pError = c.errorRate;
      const slow = eff.latency[dep.idx]!;
      if (dep.kind === 'aws') {
        // the AWS SDK retries inside one call: one subsegment with aws.retries
        let retries = 0;
        let end = t + Math.round(rng.logNormal(spec.medianMs, spec.sigma) * slow);
        outcome = draw(rng, pThrottle, pError, pFault);
        while ((outcome === FAULT || outcome === THROTTLE) && retries < c.retries) {
          end += backoff(rng, retries) + Math.round(rng.logNormal(spec.medianMs, spec.sigma) * slow);
          retries++;
          outcome = draw(rng, pThrottle, pError, pFault);
        }
        const status = outcome === FAULT ? 500 : outcome === OK ? 200 : 400;
        text = `{"id":"${rng.id16()}","name":${c.json.name},"start_time":${secondsJson(t)},"namespace":"aws","http":${c.json.http}${status}}},"aws":${c.json.awsHead}${retries}${c.json.awsTail}${flagsJson(status, outcome === THROTTLE)}`;
        if (outcome === FAULT || outcome === THROTTLE) {
          text += `,"cause":{"working_directory":"/srv/app","exceptions":[{${outcome === FAULT ? Q_AWS_FAULT : Q_AWS_THROTTLE},"remote":true,"id":"${rng.id16()}"}]}`;
        }
        text += `,"end_time":${secondsJson(end)}}`;
        t = end;
      } else {
        for (let attempt = 0; ; attempt++) {
          const end = t + Math.round(rng.logNormal(spec.medianMs, spec.sigma) * slow);
          outcome = draw(rng, pThrottle, pError, pFault);
          const status = outcome === FAULT ? 503 : outcome === THROTTLE ? 429 : outcome === ERROR ? 404 : 200;
          text +=
            (text ? ',' : '') +
            `{"id":"${rng.id16()}","name":${c.json.name},"start_time":${secondsJson(t)},"namespace":"remote","http":${c.json.http}${status}}}${flagsJson(status)},"end_time":${secondsJson(end)}}`;
          t = end;
          if ((outcome === FAULT || outcome === THROTTLE) && attempt < c.retries) {
            t += backoff(rng, attempt);
            continue;
          }
          break;
        }
      }
    }
    this.rEnd = t;
    this.subText = text;
    if (outcome !== FAULT && outcome !== THROTTLE) return OK;
    if (c.absorb > 0 && rng.next() < c.absorb) return OK;
    return outcome;
  }
}

/** How one call to a dependency ends. */
function draw(rng: Rng, pThrottle: number, pError: number, pFault: number): Outcome {
  const r = rng.next();
  return r < pThrottle ? THROTTLE : r < pThrottle + pError ? ERROR : r < pThrottle + pError + pFault ? FAULT : OK;
}

/** Exponential backoff with full jitter, 25 ms base, in ms. */
function backoff(rng: Rng, attempt: number): number {
  return Math.round(25 * 2 ** attempt * rng.next());
}
