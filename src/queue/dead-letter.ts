import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';

/** Dead letters: a capped list in Redis, each entry the job id, the reason and the time. */
export function redisDeadLetter(redis: Redis, key: string, ttlSeconds: number) {
  return async (job: Job, reason: string) => {
    await redis
      .multi()
      .lpush(key, JSON.stringify({ queue: job.queueName, jobId: job.id, reason, at: Date.now() }))
      .ltrim(key, 0, 9999)
      .expire(key, ttlSeconds)
      .exec();
  };
}
