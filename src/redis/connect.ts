import { Redis, type RedisOptions } from 'ioredis';
import { withScripts } from './scripts.js';

export type Role = 'worker' | 'request';

/**
 * A connection for a role: workers wait for Redis forever (BullMQ requires maxRetriesPerRequest null);
 * request paths fail fast so an HTTP caller gets a 503 instead of a hang.
 */
export function connect(url: string, role: Role, extra: RedisOptions = {}): Redis {
  const opts: RedisOptions =
    role === 'worker'
      ? { maxRetriesPerRequest: null, enableReadyCheck: true, ...extra }
      : // a command caught by a dropped connection fails too, rather than being re-sent after the HTTP
        // caller was told 503 (it would be counted although the caller will send it again)
        { maxRetriesPerRequest: 0, enableOfflineQueue: false, connectTimeout: 2000, commandTimeout: 5000, ...extra };
  return withScripts(new Redis(url, { lazyConnect: false, ...opts }));
}
