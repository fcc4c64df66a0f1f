import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a receiver got. */
export interface Received {
  n: number;
  at: number;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

export type Reply = { status: number; headers?: Record<string, string>; body?: string } | 'hang';

export interface Receiver {
  readonly port: number;
  /** `http://127.0.0.1:<port><path>` */
  url(path?: string): string;
  readonly received: Received[];
  /** How to answer request number n (1-based); default 204. */
  reply(fn: (r: Received) => Reply): void;
  /** Resolves when `count` requests have arrived (matching `filter`, if given). */
  waitFor(count: number, timeoutMs?: number, filter?: (r: Received) => boolean): Promise<Received[]>;
  close(): Promise<void>;
}

/** A real HTTP server on 127.0.0.1 (a free port, or `port`) that records every request. */
export async function startReceiver(port = 0): Promise<Receiver> {
  const received: Received[] = [];
  let answer: (r: Received) => Reply = () => ({ status: 204 });
  const waiters = new Set<() => void>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = {
        n: received.length + 1,
        at: Date.now(),
        method: req.method ?? '',
        path: req.url ?? '',
        headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')])),
        body: Buffer.concat(chunks).toString('utf8'),
      };
      received.push(r);
      for (const w of waiters) w();
      const a = answer(r);
      if (a === 'hang') return;
      res.writeHead(a.status, a.headers);
      res.end(a.body ?? '');
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bound = (server.address() as AddressInfo).port;
  return {
    port: bound,
    url: (path = '/hook') => `http://127.0.0.1:${bound}${path}`,
    received,
    reply: (fn) => {
      answer = fn;
    },
    waitFor: (count, timeoutMs = 20_000, filter = () => true) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const got = received.filter(filter);
          if (got.length >= count) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve(got);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`receiver: ${received.filter(filter).length} of ${count} requests after ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
