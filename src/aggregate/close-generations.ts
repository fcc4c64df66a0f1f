import type { ChainableCommander, Redis } from 'ioredis';
import type { KeySpace } from './keys.js';
import { pipeline } from '../redis/pipeline.js';

const DAY = 86400;

/**
 * How many times each window has been closed. Late data re-opens a closed window and it is closed again,
 * so a window's data can change only between two of its closes: whoever keeps a window's contents (a
 * detector's cache of window graphs, in any process) compares this number with the one it read along
 * with the contents. One hash per day of windows, all under `{<prefix>:m}`, expiring with the windows.
 */
export class CloseGenerations {
  constructor(
    private readonly redis: Redis,
    private readonly keys: KeySpace,
  ) {}

  /** Adds a close of window `w` to a pipeline or MULTI (single-key commands: any slot layout). */
  static bump(p: ChainableCommander, keys: KeySpace, w: number, ttlSeconds: number): void {
    const key = keys.closeGenerations(dayOf(w));
    p.hincrby(key, String(w), 1);
    p.expire(key, ttlSeconds);
  }

  /** The close generation of each window (0: never closed, or expired), in one round trip. */
  async read(windows: Iterable<number>): Promise<Map<number, number>> {
    const byDay = new Map<number, number[]>();
    for (const w of new Set(windows)) {
      const d = dayOf(w);
      const ws = byDay.get(d);
      if (ws) ws.push(w);
      else byDay.set(d, [w]);
    }
    const out = new Map<number, number>();
    if (!byDay.size) return out;
    const p = pipeline(this.redis);
    const days = [...byDay];
    for (const [d, ws] of days) p.hmget(this.keys.closeGenerations(d), ...ws.map(String));
    const replies = (await p.exec()) ?? [];
    days.forEach(([, ws], i) => {
      const [err, vals] = replies[i]!;
      if (err) throw err;
      ws.forEach((w, j) => out.set(w, Number((vals as Array<string | null>)[j] ?? 0)));
    });
    return out;
  }
}

function dayOf(w: number): number {
  return Math.floor(w / DAY) * DAY;
}
