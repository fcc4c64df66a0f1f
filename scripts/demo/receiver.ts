import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import type { InsightEvent } from '../../src/insights/model.js';

/**
 * A webhook receiver as a user would write one: it verifies each delivery's Standard Webhooks signature
 * with the subscription's secret before trusting the body, answers 204, and hands the event on.
 */
export interface Receiver {
  url: string;
  /** The signing secret; deliveries before it is known are refused (401), and retried by the sender. */
  setSecret(secret: string): void;
  close(): Promise<void>;
}

export interface Delivery {
  /** `webhook-id`: the same on every attempt of one delivery */
  id: string;
  attempt: number;
  event: InsightEvent;
}

export async function startReceiver(onDelivery: (d: Delivery) => void, onRefused: (why: string) => void): Promise<Receiver> {
  let verifier: Webhook | undefined;
  const attempts = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]));
      if (!verifier) {
        res.writeHead(401).end();
        return onRefused('a delivery arrived before the secret was known');
      }
      let event: InsightEvent;
      try {
        event = verifier.verify(body, headers) as InsightEvent;
      } catch (err) {
        res.writeHead(401).end();
        return onRefused(err instanceof WebhookVerificationError ? `bad signature: ${err.message}` : String(err));
      }
      res.writeHead(204).end();
      const id = headers['webhook-id'] ?? '';
      const attempt = (attempts.get(id) ?? 0) + 1;
      attempts.set(id, attempt);
      // a retried delivery after a lost answer is the same event again: show it once
      if (attempt === 1) onDelivery({ id, attempt, event });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/insights`,
    setSecret: (s) => {
      verifier = new Webhook(s);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
