import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/**
 * Where webhooks may go. A target whose host resolves to an address that is not public (loopback,
 * private, link-local, …) is refused unless private targets are allowed, at creation and again at every
 * delivery; the delivery then connects to the address that was checked, so a DNS answer that changes in
 * between (rebinding) cannot swap it.
 */

export type AddressClass = 'public' | 'loopback' | 'private' | 'link-local' | 'unspecified' | 'multicast' | 'reserved';

type Range = [base: number, bits: number, cls: AddressClass];

const v4 = (a: number, b: number, c: number, d: number) => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;

const V4_RANGES: Range[] = [
  [v4(0, 0, 0, 0), 8, 'unspecified'],
  [v4(10, 0, 0, 0), 8, 'private'],
  [v4(100, 64, 0, 0), 10, 'private'], // carrier-grade NAT
  [v4(127, 0, 0, 0), 8, 'loopback'],
  [v4(169, 254, 0, 0), 16, 'link-local'],
  [v4(172, 16, 0, 0), 12, 'private'],
  [v4(192, 0, 0, 0), 24, 'reserved'],
  [v4(192, 0, 2, 0), 24, 'reserved'],
  [v4(192, 168, 0, 0), 16, 'private'],
  [v4(198, 18, 0, 0), 15, 'reserved'],
  [v4(198, 51, 100, 0), 24, 'reserved'],
  [v4(203, 0, 113, 0), 24, 'reserved'],
  [v4(224, 0, 0, 0), 4, 'multicast'],
  [v4(240, 0, 0, 0), 4, 'reserved'], // and 255.255.255.255
];

function classifyV4(n: number): AddressClass {
  for (const [base, bits, cls] of V4_RANGES) {
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
    if (((n & mask) >>> 0) === base) return cls;
  }
  return 'public';
}

function parseV4(s: string): number | null {
  const p = s.split('.');
  if (p.length !== 4 || p.some((x) => !/^\d{1,3}$/.test(x) || Number(x) > 255)) return null;
  return v4(Number(p[0]), Number(p[1]), Number(p[2]), Number(p[3]));
}

/** 8 16-bit groups; null when not an IPv6 literal. Accepts `::` and a dotted IPv4 tail; drops a zone (`%eth0`). */
function parseV6(input: string): number[] | null {
  let s = input.replace(/^\[|\]$/g, '');
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.', lastColon)) {
    // a dotted IPv4 tail becomes two hex groups
    const n = parseV4(s.slice(lastColon + 1));
    if (n === null) return null;
    s = `${s.slice(0, lastColon + 1)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const part = (h: string) => (h === '' ? [] : h.split(':').map((x) => (/^[0-9a-f]{1,4}$/i.test(x) ? parseInt(x, 16) : NaN)));
  const head = part(halves[0]!);
  const rest = halves.length === 2 ? part(halves[1]!) : [];
  if ([...head, ...rest].some(Number.isNaN)) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  const fill = 8 - head.length - rest.length;
  return fill < 1 ? null : [...head, ...new Array<number>(fill).fill(0), ...rest];
}

function classifyV6(g: number[]): AddressClass {
  const zeros = (n: number) => g.slice(0, n).every((x) => x === 0);
  const embedded = () => classifyV4(((g[6]! << 16) | g[7]!) >>> 0);
  if (zeros(8)) return 'unspecified';
  if (zeros(7) && g[7] === 1) return 'loopback';
  if (zeros(5) && g[5] === 0xffff) return embedded(); // IPv4-mapped ::ffff:a.b.c.d
  if (zeros(6)) return embedded(); // IPv4-compatible ::a.b.c.d (deprecated)
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return embedded(); // NAT64
  if (g[0] === 0x2002) return classifyV4(((g[1]! << 16) | g[2]!) >>> 0); // 6to4
  if ((g[0]! & 0xfe00) === 0xfc00) return 'private'; // fc00::/7
  if ((g[0]! & 0xffc0) === 0xfe80) return 'link-local'; // fe80::/10
  if ((g[0]! & 0xffc0) === 0xfec0) return 'private'; // fec0::/10, site-local (deprecated)
  if ((g[0]! & 0xff00) === 0xff00) return 'multicast';
  if (g[0] === 0x2001 && g[1] === 0x0db8) return 'reserved'; // documentation
  if (g[0] === 0x0100 && g.slice(1, 4).every((x) => x === 0)) return 'reserved'; // discard
  return 'public';
}

/** What kind of address this is; anything that is not an IP literal is 'reserved' (never connectable). */
export function classifyAddress(address: string): AddressClass {
  const n = parseV4(address);
  if (n !== null) return classifyV4(n);
  const g = parseV6(address);
  return g ? classifyV6(g) : 'reserved';
}

export interface ResolvedTarget {
  address: string;
  family: 4 | 6;
}

export type TargetCheck = { ok: true; target: ResolvedTarget } | { ok: false; code: 'target_invalid' | 'target_unresolvable' | 'target_refused'; message: string };

export type Lookup = (host: string) => Promise<Array<{ address: string; family: number }>>;

const systemLookup: Lookup = (host) => dnsLookup(host, { all: true, verbatim: true });

/** Parses a target URL: http or https, no credentials, no fragment. */
export function parseTargetUrl(raw: string): { ok: true; url: URL } | { ok: false; message: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, message: 'url is not a valid absolute URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { ok: false, message: 'url must be http or https' };
  if (url.username || url.password) return { ok: false, message: 'url must not carry credentials' };
  if (url.hash) return { ok: false, message: 'url must not have a fragment' };
  if (!url.hostname) return { ok: false, message: 'url has no host' };
  return { ok: true, url };
}

/**
 * Resolves a target's host (every address) and refuses it if any address is not public, unless private
 * targets are allowed. Returns the address to connect to.
 */
export async function checkTarget(url: URL, allowPrivate: boolean, lookup: Lookup = systemLookup): Promise<TargetCheck> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addrs: Array<{ address: string; family: number }>;
  if (isIP(host)) addrs = [{ address: host, family: isIP(host) }];
  else {
    try {
      addrs = await lookup(host);
    } catch (err) {
      return { ok: false, code: 'target_unresolvable', message: `cannot resolve ${host}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
    }
    if (!addrs.length) return { ok: false, code: 'target_unresolvable', message: `${host} has no address` };
  }
  if (!allowPrivate) {
    for (const a of addrs) {
      const cls = classifyAddress(a.address);
      if (cls !== 'public') return { ok: false, code: 'target_refused', message: `${host} resolves to a ${cls} address (${a.address}); private targets are not allowed` };
    }
  }
  const first = addrs[0]!;
  return { ok: true, target: { address: first.address, family: first.family === 6 ? 6 : 4 } };
}
