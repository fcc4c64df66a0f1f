import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { startPrivateRedis, type PrivateRedis } from '../helpers/private-redis.js';
import { aofWritten, connectionEpoch } from '../../src/redis/aof-written.js';

/**
 * Why the doors wait for aofWritten before they acknowledge: with `appendfsync everysec`, Redis answers
 * writes it has not written to its AOF while the previous second's fsync still runs (it postpones the
 * write for up to 2 s). A redis-server SIGKILLed then restarts without them. Writers here load the disk
 * so that fsyncs take a while, and Redis is killed while one runs: every write acknowledged after
 * aofWritten must be there after the restart. Writes acknowledged without it are counted alongside, to
 * show the window is real (they are lost in some kills, not all, so that figure is printed, not asserted).
 */

const KILLS = 4;
const WRITERS = 6;
const VALUE = 'x'.repeat(20_000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('acknowledged writes and a SIGKILLed redis-server (appendfsync everysec)', () => {
  let redis: PrivateRedis | undefined;
  afterAll(async () => {
    await redis?.destroy();
  });

  it('keeps every write acknowledged after aofWritten', async () => {
    redis = await startPrivateRedis({ appendfsync: 'everysec' });
    let lostGuarded = 0;
    let lostRaw = 0;
    let ackedGuarded = 0;
    let ackedRaw = 0;
    for (let kill = 0; kill < KILLS; kill++) {
      const acked: Array<{ key: string; guarded: boolean }> = [];
      let stop = false;
      const writers = Array.from({ length: WRITERS }, async (_, w) => {
        const guarded = w % 2 === 0;
        // a request connection, as the doors use: a write cut off by the kill fails, it is not re-sent
        const c = new Redis(redis!.url, { maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
        c.on('error', () => undefined);
        await new Promise((r) => c.once('ready', r));
        for (let i = 0; !stop; i++) {
          const key = `k:${kill}:${w}:${i}`;
          try {
            await c.set(key, VALUE);
            if (guarded) await aofWritten(c);
            acked.push({ key, guarded });
          } catch {
            break;
          }
        }
        c.disconnect();
      });
      await sleep(800);
      // kill while a background fsync runs: that is when Redis postpones writing its AOF
      const probe = new Redis(redis.url, { maxRetriesPerRequest: 0 });
      for (const deadline = Date.now() + 2000; Date.now() < deadline; ) if (/^aof_pending_bio_fsync:1/m.test(await probe.info('persistence'))) break;
      probe.disconnect();
      await redis.kill();
      stop = true;
      await Promise.all(writers);
      await redis.restart();
      const check = new Redis(redis.url);
      const present = await Promise.all(acked.map((a) => check.exists(a.key)));
      acked.forEach((a, i) => {
        const lost = present[i] === 0 ? 1 : 0;
        if (a.guarded) {
          ackedGuarded++;
          lostGuarded += lost;
        } else {
          ackedRaw++;
          lostRaw += lost;
        }
      });
      await check.flushall();
      check.disconnect();
    }
    console.log(JSON.stringify({ kills: KILLS, ackedGuarded, lostGuarded, ackedRaw, lostRaw }));
    expect(ackedGuarded).toBeGreaterThan(100);
    expect(lostGuarded, 'writes acknowledged after aofWritten, lost in the kill').toBe(0);
  });

  it('does not vouch for writes answered by a server that has been restarted since', async () => {
    redis ??= await startPrivateRedis({ appendfsync: 'everysec' });
    // a worker's connection: it reconnects by itself and sends what waited meanwhile, INFO included
    const c = new Redis(redis.url, { maxRetriesPerRequest: null });
    c.on('error', () => undefined);
    try {
      await c.set('before-restart', VALUE);
      const since = connectionEpoch(c);
      await c.set('answered', VALUE);
      await redis.kill();
      const guarded = aofWritten(c, { since });
      const unguarded = aofWritten(c);
      guarded.catch(() => undefined);
      await redis.restart();
      // the restarted server's buffer is empty, so a reading of it alone says "written" whether or not
      // the write survived; the epoch says the connection was lost in between
      await expect(unguarded).resolves.toBeUndefined();
      await expect(guarded).rejects.toMatchObject({ code: 'redis_reconnected', retryable: true });
      // and once the connection stays up, a write is vouched for as before
      const again = connectionEpoch(c);
      await c.set('after-restart', VALUE);
      await expect(aofWritten(c, { since: again })).resolves.toBeUndefined();
      expect(await c.exists('after-restart')).toBe(1);
    } finally {
      c.disconnect();
    }
  });
});
