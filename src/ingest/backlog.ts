import type { Metrics } from '../obs/metrics.js';
import { readMemory, type RedisMemory } from '../redis/memory.js';

export interface BacklogOptions {
  /** Jobs waiting in the ingest queue at which the doors start refusing documents; 0: never. */
  maxJobs: number;
  /** How often the queue is measured, ms. */
  pollMs: number;
  /**
   * Refusing stops once the backlog is down to this share of maxJobs (and memory to this share of
   * maxMemoryShare), not at the first job below it, so that the doors do not flip between refusing and
   * accepting at every reading. @defaultValue 0.8
   */
  resumeAt?: number;
  /**
   * Share of Redis' `maxmemory` at which the doors start refusing documents, whatever the job count: a
   * few large jobs, retained ones, dedupe sets or another tenant's keys can fill Redis before maxJobs is
   * reached, and under `noeviction` Redis then refuses the workers' own writes (OOM). Without a
   * maxmemory, or with 0 here, memory is not watched. @defaultValue 0
   */
  maxMemoryShare?: number;
}

/** One reading of the backlog: jobs waiting and, when read, Redis' memory. */
export interface BacklogReading {
  jobs: number;
  memory?: RedisMemory;
}

export interface BacklogState {
  /** jobs waiting at the last reading (-1 before the first) */
  jobs: number;
  limit: number;
  /** whether the doors refuse new documents now */
  throttling: boolean;
  /** why, while refusing: too many jobs waiting, or Redis too near its maxmemory (both: 'memory') */
  reason?: 'jobs' | 'memory';
  /** Redis' memory at the last reading, when it was read */
  memory?: RedisMemory;
}

/**
 * Load shedding for the doors: when the workers fall behind, jobs pile up in Redis, which (running
 * `noeviction`, as BullMQ needs) would in the end refuse every write, the workers' own included. Past
 * `maxJobs` waiting jobs the live doors refuse new documents instead — PutTraceSegments with
 * ThrottledException, which the AWS SDKs and the X-Ray daemon retry, UDP by dropping and counting —
 * until the workers have caught up. The same holds past `maxMemoryShare` of Redis' maxmemory, which
 * the job count alone cannot see (job sizes vary; completed jobs, dedupe sets and other tenants take room
 * too): the doors stop adding well before Redis refuses a worker's write. The queue and `INFO memory` are
 * read every `pollMs`, never per request.
 */
export class Backlog {
  private state: BacklogState;
  private timer?: NodeJS.Timeout;
  private reading = false;
  private overJobs = false;
  private overMemory = false;

  constructor(
    /** Jobs waiting in the queue now, and Redis' memory if the caller reads it. */
    private readonly count: () => Promise<number | BacklogReading>,
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
    if (s.reason === 'memory' && s.memory) {
      const mb = (b: number) => Math.round(b / 1048576);
      const share = Math.round((this.opts.maxMemoryShare ?? 0) * 100);
      return `Redis memory is ${mb(s.memory.used)} MB of its ${mb(s.memory.max)} MB maxmemory (refusing above ${share} %): the workers are behind or Redis is too small; retry later`;
    }
    return `the ingest backlog is ${s.jobs} jobs (limit ${s.limit}): the workers are behind; retry later`;
  }

  /** Takes one reading now and applies it. A failed reading (Redis away) changes nothing. */
  async poll(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      const r = await this.count();
      if (typeof r === 'number') this.apply(r);
      else this.apply(r.jobs, r.memory);
    } catch {
      // the doors answer 503 on their own while Redis is away; the last reading stands meanwhile
    } finally {
      this.reading = false;
    }
  }

  /**
   * Applies a reading: refusing starts at a limit (maxJobs waiting jobs, maxMemoryShare of maxmemory)
   * and stops once each is down to `resumeAt` of its limit.
   */
  apply(jobs: number, memory?: RedisMemory): void {
    const { maxJobs } = this.opts;
    const resumeAt = this.opts.resumeAt ?? 0.8;
    const was = this.state.throttling;
    if (maxJobs <= 0) this.overJobs = false;
    else if (jobs >= maxJobs) this.overJobs = true;
    else if (jobs <= Math.floor(maxJobs * resumeAt)) this.overJobs = false;
    const share = this.opts.maxMemoryShare ?? 0;
    if (memory) {
      if (share <= 0 || memory.max <= 0) this.overMemory = false;
      else if (memory.used >= share * memory.max) this.overMemory = true;
      else if (memory.used <= share * resumeAt * memory.max) this.overMemory = false;
    }
    const throttling = this.overJobs || this.overMemory;
    const reason = this.overMemory ? 'memory' : this.overJobs ? 'jobs' : undefined;
    const mem = memory ?? this.state.memory;
    // without memory readings the reason can only be the job count: the state keeps its plain shape
    this.state = { jobs, limit: maxJobs, throttling, ...(mem ? { memory: mem, ...(reason ? { reason } : {}) } : {}) };
    if (throttling !== was) this.onChange?.(this.state);
  }

  /** Reads now, then every pollMs until stop(). Without a limit, it never reads at all. */
  async start(): Promise<void> {
    if ((this.opts.maxJobs <= 0 && !(this.opts.maxMemoryShare! > 0)) || this.timer) return;
    await this.poll();
    this.timer = setInterval(() => void this.poll(), this.opts.pollMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/**
 * The reading startServer's backlog takes: jobs waiting in the ingest queue and Redis' `INFO memory`, in
 * one go every pollMs; both are published as metrics.
 */
export function backlogReading(queue: { getJobCountByTypes(...types: Array<'waiting' | 'delayed' | 'prioritized'>): Promise<number> }, redis: { info(section: string): Promise<string> }, metrics: Metrics): () => Promise<BacklogReading> {
  return async () => {
    const [jobs, memory] = await Promise.all([queue.getJobCountByTypes('waiting', 'delayed', 'prioritized'), readMemory(redis)]);
    metrics.backlogJobs.set(jobs);
    metrics.redisMemoryUsed.set(memory.used);
    metrics.redisMemoryLimit.set(memory.max);
    return { jobs, memory };
  };
}

/** What a door needs to shed load by the backlog: the refusal while it lasts, and a count of refusals. */
export function doorThrottle(backlog: Backlog | undefined, metrics: Metrics | undefined, door: 'http' | 'udp'): { refusal?: () => string | undefined; onThrottled?: () => void } {
  if (!backlog) return {};
  return { refusal: () => backlog.refusal(), onThrottled: () => metrics?.throttled.inc({ door }) };
}
