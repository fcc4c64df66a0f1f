import http from 'node:http';

export interface LoadResult {
  requests: number;
  /** requests answered 503 (Redis away), 429 (backlog over its limit) or cut off, and sent again */
  retries: number;
  /** documents the door listed in UnprocessedTraceSegments */
  rejected: number;
  /** request latency percentiles, ms */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface LoadOptions {
  port: number;
  concurrency: number;
  /** called after each acknowledged request with the number acknowledged so far */
  onAck?: (requestsDone: number) => void;
  maxRetries?: number;
}

interface Reply {
  status: number;
  body: string;
}

function post(agent: http.Agent, port: number, body: Buffer): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { agent, host: '127.0.0.1', port, method: 'POST', path: '/TraceSegments', headers: { 'content-type': 'application/json', 'content-length': body.length } },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (b: Buffer) => parts.push(b));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const ACCEPTED_ALL = '"UnprocessedTraceSegments":[]';

/**
 * Sends every body to PutTraceSegments with at most `concurrency` requests in flight over kept-alive
 * connections, the way a fleet of daemons would; retries 503s, 429s and dropped connections (the door
 * de-duplicates, so a resend counts nothing twice).
 */
export async function sendAll(bodies: readonly Buffer[], opts: LoadOptions): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const latencies = new Float64Array(bodies.length);
  let next = 0;
  let done = 0;
  let retries = 0;
  let rejected = 0;
  const maxRetries = opts.maxRetries ?? 20;
  const lane = async () => {
    for (;;) {
      const i = next++;
      if (i >= bodies.length) return;
      const body = bodies[i]!;
      for (let attempt = 0; ; attempt++) {
        const t0 = performance.now();
        let reply: Reply | undefined;
        let failure: string | undefined;
        try {
          reply = await post(agent, opts.port, body);
        } catch (err) {
          failure = (err as Error).message;
        }
        if (reply && reply.status === 200) {
          latencies[i] = performance.now() - t0;
          if (!reply.body.includes(ACCEPTED_ALL)) {
            rejected += ((JSON.parse(reply.body) as { UnprocessedTraceSegments?: unknown[] }).UnprocessedTraceSegments ?? []).length;
          }
          break;
        }
        if (reply && reply.status !== 503 && reply.status !== 429) throw new Error(`PutTraceSegments answered ${reply.status}: ${reply.body.slice(0, 500)}`);
        if (attempt >= maxRetries) throw new Error(`PutTraceSegments failed ${attempt + 1} times: ${failure ?? reply?.body.slice(0, 300)}`);
        retries++;
        await new Promise((r) => setTimeout(r, Math.min(1000, 20 * 2 ** attempt)));
      }
      opts.onAck?.(++done);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(opts.concurrency, bodies.length) }, lane));
  } finally {
    agent.destroy();
  }
  const sorted = Float64Array.from(latencies).sort();
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
  return { requests: bodies.length, retries, rejected, p50Ms: pct(0.5), p99Ms: pct(0.99), maxMs: sorted[sorted.length - 1] ?? 0 };
}
