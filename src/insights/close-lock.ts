import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { renewScript, unlockScript } from '../aggregate/scripts.js';

/**
 * The lock that lets one live process at a time close windows and judge them, renewed while it works.
 * It keeps closers from doing the same work twice; it cannot make a commit safe by itself (a process
 * paused past the lock's time to live still believes it holds it), which is why the insight store's
 * commit is fenced as well.
 */
export interface CloseLockOptions {
  /** Time to live of the lock; a crashed holder blocks closing this long. @defaultValue 30000 */
  ttlMs?: number;
}

/** A hold on the lock: renew it while working, release it when done. */
export interface Lease {
  /** Extends the hold when a third of its time to live has passed; false once it is lost (stop working). */
  renew(): Promise<boolean>;
  /** Releases the lock if still held; idempotent. */
  release(): Promise<void>;
}

export class CloseLock {
  private readonly ttlMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    opts: CloseLockOptions = {},
  ) {
    this.ttlMs = opts.ttlMs ?? 30_000;
  }

  /** Takes the lock, or null when another process holds it. */
  async acquire(): Promise<Lease | null> {
    const token = randomUUID();
    if ((await this.redis.set(this.key, token, 'PX', this.ttlMs, 'NX')) !== 'OK') return null;
    let renewed = performance.now();
    let held = true;
    return {
      renew: async () => {
        if (!held) return false;
        // a round trip per step of a long catch-up is not worth it; a third of the ttl leaves ample margin
        if (performance.now() - renewed < this.ttlMs / 3) return true;
        held = await renewScript.run(this.redis, { key: this.key, token, ttlMs: this.ttlMs });
        renewed = performance.now();
        return held;
      },
      release: async () => {
        if (!held) return;
        held = false;
        await unlockScript.run(this.redis, { key: this.key, token });
      },
    };
  }
}
