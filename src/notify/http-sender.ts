import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { ResolvedTarget } from './address-policy.js';
import { parseRetryAfter } from './schedule.js';

export interface SendRequest {
  url: URL;
  /** the checked address to connect to (the host name still goes in Host and TLS SNI) */
  target: ResolvedTarget;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

export interface AttemptResult {
  /** HTTP status, or null when no response came (refused, reset, timeout) */
  status: number | null;
  latencyMs: number;
  /** why the attempt failed, short and free of secrets; null on 2xx */
  error: string | null;
  /** from Retry-After on 429 and 503 */
  retryAfterSeconds?: number;
}

/** How much of a response body is read before the connection is dropped (we never use the body). */
const MAX_BODY_BYTES = 64 * 1024;

/** Connect to the checked address, whatever DNS says now (both call shapes net.connect uses). */
function pinnedLookup(target: ResolvedTarget): LookupFunction {
  return (_host, opts, cb) => {
    if ((opts as { all?: boolean }).all) (cb as unknown as (e: null, a: ResolvedTarget[]) => void)(null, [target]);
    else cb(null, target.address, target.family);
  };
}

/** One exchange: resolves once, with the outcome; never rejects. */
class Exchange {
  private settled = false;
  private status = 0;
  private read = 0;
  private readonly started = performance.now();
  private readonly timer: NodeJS.Timeout;
  private readonly req: http.ClientRequest;

  constructor(
    mod: typeof http | typeof https,
    options: http.RequestOptions,
    body: Buffer,
    timeoutMs: number,
    private readonly resolve: (r: AttemptResult) => void,
  ) {
    this.req = mod.request(options);
    this.timer = setTimeout(() => this.req.destroy(Object.assign(new Error(`timed out after ${timeoutMs} ms`), { code: 'ETIMEDOUT' })), timeoutMs);
    this.req.on('error', (err: NodeJS.ErrnoException) => this.done(null, err.code === 'ETIMEDOUT' ? err.message : `${err.code ?? 'error'}: ${err.message}`.slice(0, 200)));
    this.req.on('response', (res) => this.onResponse(res));
    this.req.end(body);
  }

  private onResponse(res: http.IncomingMessage): void {
    this.status = res.statusCode ?? 0;
    res.on('data', (chunk: Buffer) => {
      this.read += chunk.length;
      if (this.read > MAX_BODY_BYTES) res.destroy();
    });
    res.on('error', () => undefined);
    const finish = () => {
      const s = this.status;
      if (s >= 200 && s < 300) return this.done(s, null);
      const retryAfter = s === 429 || s === 503 ? parseRetryAfter(res.headers['retry-after'], Date.now()) : undefined;
      this.done(s, s >= 300 && s < 400 ? `redirect (${s}) not followed` : `HTTP ${s}`, retryAfter);
    };
    res.on('end', finish);
    res.on('close', finish);
  }

  private done(status: number | null, error: string | null, retryAfterSeconds?: number): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    const latencyMs = Math.round((performance.now() - this.started) * 10) / 10;
    this.resolve(retryAfterSeconds === undefined ? { status, latencyMs, error } : { status, latencyMs, error, retryAfterSeconds });
  }
}

/**
 * One POST per attempt over keep-alive connections. Redirects are not followed (a 3xx is a failure);
 * the whole exchange, connect to last byte, must fit in the timeout.
 */
export class HttpSender {
  private readonly agents = {
    http: new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 256, scheduling: 'lifo' }),
    https: new https.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 256, scheduling: 'lifo' }),
  };

  send(req: SendRequest): Promise<AttemptResult> {
    const isHttps = req.url.protocol === 'https:';
    const body = Buffer.from(req.body, 'utf8');
    const options: http.RequestOptions = {
      host: req.url.hostname.startsWith('[') ? req.url.hostname.slice(1, -1) : req.url.hostname,
      port: req.url.port || (isHttps ? 443 : 80),
      path: req.url.pathname + req.url.search,
      method: 'POST',
      headers: { ...req.headers, 'content-length': String(body.length) },
      agent: isHttps ? this.agents.https : this.agents.http,
      lookup: pinnedLookup(req.target),
    };
    return new Promise<AttemptResult>((resolve) => new Exchange(isHttps ? https : http, options, body, req.timeoutMs, resolve));
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}
