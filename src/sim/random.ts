/** Seeded PRNG (mulberry32) and the distributions the simulator needs; same seed, same traffic. */
export class Rng {
  private s: number;
  /** Box–Muller makes normals in pairs; the second one waits here. */
  private spare = NaN;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }
  /** Standard normal (Box–Muller). */
  normal(): number {
    if (this.spare === this.spare) {
      const z = this.spare;
      this.spare = NaN;
      return z;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    const a = 2 * Math.PI * this.next();
    this.spare = r * Math.sin(a);
    return r * Math.cos(a);
  }
  /** Log-normal with the given median and sigma of the underlying normal. */
  logNormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }
  /** Exponential with mean 1. */
  exp(): number {
    return -Math.log(1 - this.next());
  }
  /** `n` random lower-case hex digits. */
  hex(n: number): string {
    let s = '';
    while (s.length + 8 <= n) s += hex8(this.u32());
    if (s.length < n) s += hex8(this.u32()).slice(0, n - s.length);
    return s;
  }
  /** A 16-hex-digit X-Ray entity id. */
  id16(): string {
    return hex8(this.u32()) + hex8(this.u32());
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
}

const BYTE_HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Eight hex digits of a 32-bit unsigned integer (a table beats toString(16) + padding in the hot loop). */
export function hex8(x: number): string {
  return BYTE_HEX[x >>> 24]! + BYTE_HEX[(x >>> 16) & 255]! + BYTE_HEX[(x >>> 8) & 255]! + BYTE_HEX[x & 255]!;
}

/** A deterministic value in [-1, 1) for (seed, i): random access without a generator's state. */
export function hashUnit(seed: number, i: number): number {
  let h = Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(i | 0, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return (h >>> 0) / 2147483648 - 1;
}
