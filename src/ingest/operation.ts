/**
 * The operation a segment served, as the detector judges latency and call structure per operation: one
 * service often serves several (a product page and a checkout), and a shift in their mix is not an
 * incident, nor is a slowdown of one of them to be averaged away.
 *
 * It is the request's method and URL path, with what varies per request taken out: the query and
 * fragment, the scheme and host, and path parts that are identifiers (numbers, UUIDs, long hex or
 * base64-like tokens) become `{id}`. So `GET https://shop/api/orders/8812?x=1` is `GET /api/orders/{id}`.
 * Segments without an `http.request.url` have no operation.
 */

const MAX_OPERATION_LENGTH = 120;
const MAX_PARTS = 8;

function isIdentifier(part: string): boolean {
  if (/^\d+$/.test(part)) return true;
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(part)) return true;
  if (part.length >= 8 && /^[0-9a-f]+$/i.test(part) && /\d/.test(part)) return true;
  // long tokens mixing letters and digits (base64, ULIDs, session ids)
  return part.length >= 16 && /\d/.test(part) && /[a-z]/i.test(part) && /^[\w-]+$/.test(part);
}

/** The path of a URL or a bare path, without scheme, host, query or fragment. */
function pathOf(url: string): string {
  let u = url.trim();
  const scheme = u.indexOf('://');
  if (scheme >= 0) {
    const slash = u.indexOf('/', scheme + 3);
    u = slash >= 0 ? u.slice(slash) : '/';
  }
  const cut = u.search(/[?#]/);
  if (cut >= 0) u = u.slice(0, cut);
  return u.startsWith('/') ? u : `/${u}`;
}

/** Recent answers: the same URLs come back again and again (bounded; cleared when full). */
const cache = new Map<string, string>();

export function operationOf(http: { request?: { method?: string; url?: string } } | undefined): string | undefined {
  const url = http?.request?.url;
  if (typeof url !== 'string' || url.length === 0) return undefined;
  const key = `${typeof http?.request?.method === 'string' ? http.request.method : ''}\n${url}`;
  let op = cache.get(key);
  if (op === undefined) {
    if (cache.size >= 10_000) cache.clear();
    cache.set(key, (op = normalize(url, http?.request?.method)));
  }
  return op;
}

function normalize(url: string, rawMethod: unknown): string {
  const parts = pathOf(url)
    .split('/')
    .filter((p) => p.length > 0)
    .slice(0, MAX_PARTS)
    .map((p) => (isIdentifier(p) ? '{id}' : p.replace(/[^\w.~{}:@!$&'()*+,;=-]/g, '_')));
  const method = typeof rawMethod === 'string' && /^[A-Za-z]{1,10}$/.test(rawMethod) ? `${rawMethod.toUpperCase()} ` : '';
  return `${method}/${parts.join('/')}`.slice(0, MAX_OPERATION_LENGTH);
}
