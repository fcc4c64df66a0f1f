/**
 * What the simulator does not write and trace filters ask for: a customer id annotation and a user on
 * the root segment, and root URLs that differ. Derived from the request's number alone, so the same
 * seed and count give the same documents, and filter values chosen from the same numbers are known to
 * exist (see `customerOf`, `userOf`).
 */

/** Distinct customer ids: over one hour at 200 req/s each appears ~144 times, over a few minutes a handful. */
export const CUSTOMERS = 5000;
/** Distinct users: each ~720 traces an hour. */
export const USERS = 1000;

// a multiplier coprime with both counts scatters consecutive requests over ids
const spread = (n: number, m: number) => (n * 7919 + 13) % m;

export const customerOf = (n: number) => `c-${spread(n, CUSTOMERS)}`;
export const userOf = (n: number) => `user-${spread(n, USERS)}`;

const URLS = [
  (n: number) => `https://shop.example.com/prod/orders/${n % 100_000}`,
  () => 'https://shop.example.com/prod/orders',
  () => 'https://shop.example.com/prod/cart?express=1',
  (n: number) => `https://m.shop.example.com/prod/cart/items/${n % 50}`,
];

type Doc = Record<string, unknown>;

/** Adds the customer annotation, the user and a varied URL to the request's root segment (the one without parent_id). */
export function decorateRequest(docs: Doc[], n: number): void {
  const root = docs.find((d) => !d.parent_id);
  if (!root) return;
  root.annotations = { ...(root.annotations as Doc | undefined), customer_id: customerOf(n) };
  root.user = userOf(n);
  const http = root.http as { request?: Doc } | undefined;
  if (http?.request) http.request.url = URLS[n % URLS.length]!(n);
}
