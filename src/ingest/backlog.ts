import type { Metrics } from '../obs/metrics.js';

export interface BacklogOptions {
  /** Jobs waiting in the ingest queue at which the doors start refusing documents; 0: never. */
  maxJobs: number;
  /** How often the queue is measured, ms. */
  pollMs: number;
  /**
   * Refusing stops once the backlog is down to this share of maxJobs, not at the first job below it, so
   * that the doors do not flip between refusing and accepting at every reading. @defaultValue 0.8
   */
  resumeAt?: number;
}

export interface BacklogState {
  /** jobs waiting at the last reading (-1 before the first) */
  jobs: number;
  limit: number;
  /** whether the doors refuse new documents now */
  throttling: boolean;
}

/**
 * Load shedding for the doors: when the workers fall behind, jobs pile up in Redis, which (running
 * `noeviction`, as BullMQ needs) would in the end refuse every write, the workers' own included. Past
 * `maxJobs` waiting jobs the live doors refuse new documents instead — PutTraceSegments with
 * ThrottledException, which the AWS SDKs and the X-Ray daemon retry, UDP by dropping and counting —
 * until the workers have caught up. The queue is read every `pollMs`, never per request.
 */
export class Backlog {
  private state: BacklogState;
  private timer?: NodeJS.Timeout;
  private reading = false;

  constructor(
    /** Jobs waiting in the queue now. */
    private readonly count: () => Promise<number>,
    private readonly opts: BacklogOptions,
    /** Told when refusing starts or stops. */
    private readonly onChange?: (s: BacklogState) => void,
  ) {
    this.state = { jobs: -1, limit: opts.maxJobs, throttling: false };
  }

  get current(): BacklogState {
    return this.state;
  }

  /** The reason to give a client, while refusing; undefined while accepting. */
  refusal(): string | undefined {
    const s = this.state;
    if (!s.throttling) return undefined;
    return `the ingest backlog is ${s.jobs} jobs (limit ${s.limit}): the workers are behind; retry later`;
  }

  /** Takes one reading now and applies it. A failed reading (Redis away) changes nothing. */
  async poll(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      this.apply(await this.count());
    } catch {
      // the doors answer 503 on their own while Redis is away; the last reading stands meanwhile
    } finally {
      this.reading = false;
    }
  }

  /** Applies a reading: refusing starts at the limit and stops at `resumeAt` of it. */
  apply(jobs: number): void {
    const { maxJobs } = this.opts;
    const was = this.state.throttling;
    let throttling = was;
    if (maxJobs <= 0) throttling = false;
    else if (jobs >= maxJobs) throttling = true;
    else if (jobs <= Math.floor(maxJobs * (this.opts.resumeAt ?? 0.8))) throttling = false;
    this.state = { jobs, limit: maxJobs, throttling };
    if (throttling !== was) this.onChange?.(this.state);
  }

  /** Reads now, then every pollMs until stop(). Without a limit, it never reads at all. */
  async start(): Promise<void> {
    if (this.opts.maxJobs <= 0 || this.timer) return;
    await this.poll();
    this.timer = setInterval(() => void this.poll(), this.opts.pollMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** What a door needs to shed load by the backlog: the refusal while it lasts, and a count of refusals. */
export function doorThrottle(backlog: Backlog | undefined, metrics: Metrics | undefined, door: 'http' | 'udp'): { refusal?: () => string | undefined; onThrottled?: () => void } {
  if (!backlog) return {};
  return { refusal: () => backlog.refusal(), onThrottled: () => metrics?.throttled.inc({ door }) };
}
