import { describe, expect, it } from 'vitest';
import { parseMemoryInfo } from '../../src/redis/memory.js';
import { aofWritten, parseAofInfo } from '../../src/redis/aof-written.js';

describe('INFO readings', () => {
  it('reads used_memory and maxmemory (0: no limit)', () => {
    const text = '# Memory\r\nused_memory:1234567\r\nused_memory_human:1.18M\r\nused_memory_rss:9000000\r\nmaxmemory:67108864\r\nmaxmemory_human:64.00M\r\n';
    expect(parseMemoryInfo(text)).toEqual({ used: 1234567, max: 67108864 });
    expect(parseMemoryInfo('used_memory:5\r\nmaxmemory:0\r\n')).toEqual({ used: 5, max: 0 });
  });

  it('reads the append-only file size and its unwritten buffer', () => {
    const text = '# Persistence\r\naof_enabled:1\r\naof_rewrite_in_progress:0\r\naof_current_size:5000\r\naof_base_size:100\r\naof_buffer_length:300\r\n';
    expect(parseAofInfo(text)).toEqual({ enabled: true, size: 5000, buffered: 300 });
    expect(parseAofInfo('aof_enabled:0\r\n').enabled).toBe(false);
  });
});

describe('aofWritten', () => {
  const info = (...replies: Array<[size: number, buffered: number]>) => {
    let i = 0;
    const client = {
      calls: 0,
      info: async () => {
        client.calls++;
        const [size, buffered] = replies[Math.min(i++, replies.length - 1)]!;
        return `aof_enabled:1\r\naof_current_size:${size}\r\naof_buffer_length:${buffered}\r\n`;
      },
    };
    return client;
  };

  it('returns at once when nothing is buffered', async () => {
    const c = info([100, 0]);
    await aofWritten(c);
    expect(c.calls).toBe(1);
  });

  it('waits until the file has grown by what was buffered (writes postponed during an fsync)', async () => {
    const c = info([100, 50], [100, 80], [100, 120], [149, 10], [150, 30]);
    await aofWritten(c);
    expect(c.calls).toBe(5);
  });

  it('takes an empty buffer as written; after a smaller file (a rewrite finished) waits for what is still buffered', async () => {
    // the rewrite left 5 bytes buffered: written once the new file has grown by 5
    const shrunk = info([1000, 50], [10, 5], [12, 3], [15, 2]);
    await aofWritten(shrunk);
    expect(shrunk.calls).toBe(4);
    const empty = info([1000, 50], [1000, 0]);
    await aofWritten(empty);
    expect(empty.calls).toBe(2);
  });

  it('gives up with a retryable error when Redis does not write', async () => {
    const c = info([100, 50]);
    await expect(aofWritten(c, { timeoutMs: 100 })).rejects.toMatchObject({ code: 'aof_not_written', retryable: true });
  });

  it('waits for nothing without an AOF, or on a cluster client', async () => {
    const off = { calls: 0, info: async () => (off.calls++, 'aof_enabled:0\r\n') };
    await aofWritten(off);
    expect(off.calls).toBe(1);
    const cluster = { isCluster: true, calls: 0, info: async () => (cluster.calls++, '') };
    await aofWritten(cluster);
    expect(cluster.calls).toBe(0);
  });
});
