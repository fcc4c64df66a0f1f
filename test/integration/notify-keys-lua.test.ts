import { afterAll, describe, expect, it } from 'vitest';
import { notifyKeys, notifyKeysLua } from '../../src/notify/keys.js';
import { testRedis } from '../helpers/redis.js';

/**
 * The webhook scripts build the keys they derive from a delivery's fields with functions generated
 * from keys.ts: run in Redis, they name every key exactly as TypeScript does.
 */
describe('the notify key layout in Lua', () => {
  const redis = testRedis();
  afterAll(() => redis.disconnect());

  it('names every key as notifyKeys does', async () => {
    const k = notifyKeys('p:q');
    const lua = `${notifyKeysLua()}
local t = ARGV[1]
return {key_subs(t), key_sub(t, 's1'), key_delivery(t, 'd1'), key_attempts(t, 'd1'), key_log(t, 's1'), key_group(t, 's1', 'i1'), key_groups(t), key_event(t, 'e1')}`;
    const got = await redis.eval(lua, 0, k.tag);
    expect(got).toEqual([k.subs(), k.sub('s1'), k.delivery('d1'), k.attempts('d1'), k.log('s1'), k.group('s1', 'i1'), k.groups(), k.event('e1')]);
    expect(k.group('s1', 'i1')).toBe('{p:q:h}:g:s1:i1');
  });
});
