import { hashUnit, type Rng } from './random.js';
import type { SamplingSpec, SurgeSpec, TrafficSpec } from './model.js';

/**
 * Client request rate over event time: the mean rate, a slow sinusoid, smooth random wobble
 * (cosine-interpolated random knots, so it is a pure function of time and seed) and surges.
 */
export class RateProfile {
  private readonly amplitude: number;
  private readonly omega: number;
  private readonly phase: number;
  private readonly noise: number;
  private readonly noiseSeconds: number;

  constructor(
    private readonly traffic: TrafficSpec,
    private readonly surges: readonly SurgeSpec[],
    private readonly start: number,
    private readonly seed: number,
  ) {
    this.amplitude = traffic.amplitude ?? 0;
    this.omega = (2 * Math.PI) / (traffic.periodSeconds ?? 86_400);
    this.phase = traffic.phase ?? 0;
    this.noise = traffic.noise ?? 0;
    this.noiseSeconds = traffic.noiseSeconds ?? 300;
  }

  /** Requests per second at event time `t`. */
  at(t: number): number {
    const x = t - this.start;
    let f = 1 + this.amplitude * Math.sin(this.omega * x + this.phase);
    if (this.noise) {
      const u = x / this.noiseSeconds;
      const k = Math.floor(u);
      const w = (1 - Math.cos(Math.PI * (u - k))) / 2;
      f *= 1 + this.noise * ((1 - w) * hashUnit(this.seed, k) + w * hashUnit(this.seed, k + 1));
    }
    for (const s of this.surges) if (t >= s.start && t < s.end) f *= s.multiplier;
    return this.traffic.rate * Math.max(f, 0.02);
  }
}

/**
 * An SDK's local sampling rule at one entry service: the first `reservoir` requests of each
 * second, then `rate` of the rest; the decision travels downstream in the trace header.
 */
export class Sampler {
  private second = -1;
  private used = 0;

  constructor(private readonly spec: SamplingSpec) {}

  sample(t: number, rng: Rng): boolean {
    if (this.spec.rate >= 1) return true;
    const s = Math.floor(t);
    if (s !== this.second) {
      this.second = s;
      this.used = 0;
    }
    if (this.used < this.spec.reservoir) {
      this.used++;
      return true;
    }
    return this.spec.rate > 0 && rng.next() < this.spec.rate;
  }
}
