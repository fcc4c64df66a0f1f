import { AppError } from '../util/errors.js';

/** What `INFO persistence` says about the append-only file. */
export interface AofInfo {
  enabled: boolean;
  /** bytes written to the AOF so far (`aof_current_size`; a rewrite starts it again) */
  size: number;
  /** bytes executed but not yet written (`aof_buffer_length`) */
  buffered: number;
}

export function parseAofInfo(text: string): AofInfo {
  const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return { enabled: field('aof_enabled') === 1, size: field('aof_current_size'), buffered: field('aof_buffer_length') };
}

export interface AofWrittenOptions {
  /** Give up (a retryable error) after this long; Redis itself stops postponing after 2 s. @defaultValue 4000 */
  timeoutMs?: number;
  /**
   * The client's {@link connectionEpoch} taken before the writes to wait for. If the connection was lost
   * since, the readings may come from a restarted redis-server that never had those writes (its buffer
   * is empty: it would look written), so this fails with a retryable error instead.
   */
  since?: number;
}

/** An ioredis client, or BullMQ's view of one. */
export interface InfoClient {
  readonly isCluster?: boolean;
  info(section: string): Promise<string>;
  on?(event: 'close', listener: () => void): unknown;
}

const closes = new WeakMap<object, { n: number }>();

/**
 * How many times this client's connection has closed (counted from the first call on it). Take it
 * before writes whose durability {@link aofWritten} is to wait for: a connection that stayed open talked
 * to one redis-server process throughout, while writes answered before a restart can be gone after it.
 */
export function connectionEpoch(client: InfoClient): number {
  let c = closes.get(client);
  if (!c) {
    const counter = { n: 0 };
    closes.set(client, (c = counter));
    client.on?.('close', () => counter.n++);
  }
  return c.n;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Resolves once every write Redis had executed when this was called is in its append-only file (handed
 * to the kernel with write(), so a killed redis-server keeps it; fsync is `appendfsync`'s business).
 *
 * Why: Redis answers a write before it is in the file. It normally write()s the AOF buffer before it
 * sends the replies, but with `appendfsync everysec` it postpones that write, for up to 2 s, while the
 * previous second's fsync is still running — and answers meanwhile. A redis-server SIGKILLed then loses
 * writes it acknowledged (seen in test/integration/redis-kill.test.ts: a few hundred of 8000 writes in
 * one kill of ten). A door that acknowledges a batch must wait for this first. Redis 7.2's WAITAOF would
 * wait for the fsync too (up to a second per request); this waits only for the write, which is what a
 * process crash needs, and costs one INFO round trip when Redis is not postponing.
 *
 * The reading: everything executed so far is in the file once `aof_current_size` has grown by what was
 * buffered at the first reading, or once the buffer is empty. The size shrinks when a rewrite finishes
 * (it becomes the new base's plus the new increment's), while the buffer may still hold postponed writes:
 * then the wait starts again from that reading, whose buffer holds whatever of ours is not yet written
 * (the buffer is written in order). No AOF (or a Redis Cluster client): nothing to wait for.
 */
export async function aofWritten(redis: InfoClient, opts: AofWrittenOptions = {}): Promise<void> {
  if (redis.isCluster) return;
  const sameServer = () => {
    if (opts.since !== undefined && connectionEpoch(redis) !== opts.since) {
      throw new AppError('redis_reconnected', 'the connection to Redis was lost after the writes: a restarted redis-server may not have them', true);
    }
  };
  const first = parseAofInfo(await redis.info('persistence'));
  sameServer();
  if (!first.enabled || first.buffered === 0) return;
  let base = first.size;
  let target = first.size + first.buffered;
  const deadline = Date.now() + (opts.timeoutMs ?? 4000);
  for (let wait = 1; ; wait = Math.min(50, wait * 2)) {
    // the next event-loop turn of Redis normally writes the buffer: look again almost at once
    await sleep(wait);
    const now = parseAofInfo(await redis.info('persistence'));
    sameServer();
    if (!now.enabled || now.buffered === 0) return;
    if (now.size < base) {
      // a rewrite finished: sizes are of the new files now
      base = now.size;
      target = now.size + now.buffered;
      continue;
    }
    if (now.size >= target) return;
    if (Date.now() > deadline) throw new AppError('aof_not_written', `Redis has not written its append-only file for ${opts.timeoutMs ?? 4000} ms (disk busy?)`, true);
  }
}
