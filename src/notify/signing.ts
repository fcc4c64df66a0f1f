import { createHash, createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): the secret is `whsec_` + base64 key
 * bytes; a signature is `v1,` + base64(HMAC-SHA256(key, `${id}.${timestamp}.${body}`)); several are
 * separated by spaces (a rotated secret signs alongside the new one during its grace period).
 */

const PREFIX = 'whsec_';

/** A new secret: 32 random bytes. */
export function generateSecret(): string {
  return PREFIX + randomBytes(32).toString('base64');
}

// Decoded keys of the secrets in use (a handful per process): decoding and importing a key per request
// costs more than the HMAC itself. Kept in memory only, never logged.
const keys = new Map<string, KeyObject>();

function keyOf(secret: string): KeyObject {
  let k = keys.get(secret);
  if (!k) {
    if (keys.size >= 10_000) keys.clear();
    k = createSecretKey(Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64'));
    keys.set(secret, k);
  }
  return k;
}

/** The `webhook-signature` header value for one message, signed with each secret. */
export function signatureHeader(id: string, timestampSeconds: number, body: string, secrets: readonly string[]): string {
  const prefix = `${id}.${timestampSeconds}.`;
  let out = '';
  for (const s of secrets) out += `${out ? ' ' : ''}v1,${createHmac('sha256', keyOf(s)).update(prefix).update(body).digest('base64')}`;
  return out;
}

/** The webhook id (`webhook-id`) of an event for a subscription: the same on every attempt and redelivery. */
export function deliveryId(subscriptionId: string, eventKey: string): string {
  return `msg_${createHash('sha256').update(`${subscriptionId}\n${eventKey}`).digest('hex').slice(0, 32)}`;
}

/** An event's identity: a hash of its JSON (events are built deterministically, so a re-run gives the same key). */
export function eventKey(eventJson: string): string {
  return createHash('sha256').update(eventJson).digest('hex').slice(0, 32);
}

/** A new subscription id. */
export function subscriptionId(): string {
  return `wh_${randomBytes(12).toString('hex')}`;
}
