/** What `INFO memory` says about Redis' memory and its limit. */
export interface RedisMemory {
  /** bytes Redis holds (`used_memory`), the figure `maxmemory` is enforced against */
  used: number;
  /** `maxmemory` in bytes; 0: no limit */
  max: number;
}

export function parseMemoryInfo(text: string): RedisMemory {
  const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return { used: field('used_memory'), max: field('maxmemory') };
}

/** Reads `INFO memory`: one small reply, cheap enough to take every few hundred milliseconds. */
export async function readMemory(redis: { info(section: string): Promise<string> }): Promise<RedisMemory> {
  return parseMemoryInfo(await redis.info('memory'));
}
