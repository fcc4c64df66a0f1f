import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * Opaque NextToken values: base64url of a small JSON cursor plus a fingerprint of the query it belongs
 * to, so a token replayed with a different query is refused instead of silently skipping results.
 * Tokens are not secrets (anyone who can call the API can read the data they point into).
 */

export function queryFingerprint(parts: readonly unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 12);
}

export function encodeToken<T extends object>(query: string, cursor: T): string {
  return Buffer.from(JSON.stringify({ q: query, ...cursor })).toString('base64url');
}

/** The cursor inside a token, or null if the token is malformed or was issued for another query. */
export function decodeToken<S extends z.ZodObject>(token: string, query: string, cursor: S): z.infer<S> | null {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  const parsed = cursor.extend({ q: z.string() }).safeParse(raw);
  if (!parsed.success || parsed.data.q !== query) return null;
  return parsed.data as z.infer<S>;
}
