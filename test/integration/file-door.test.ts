import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { dropPrefix, testRedis } from '../helpers/redis.js';
import { ingestFiles, readTraceFile } from '../../src/ingest/files.js';
import { SHOP, traffic } from '../../src/sim/traffic.js';
import { AggregateReader, buildGraph } from '../../src/aggregate/read.js';
import { keySpace } from '../../src/aggregate/keys.js';

describe('file door: NDJSON and BatchGetTraces, plain or gzipped', () => {
  let stack: Stack;
  const redis = testRedis();
  const dir = mkdtempSync(join(tmpdir(), 'ti-files-'));
  const start = 1_780_000_000;
  const gen = traffic({ seed: 21, services: SHOP, entry: 'api-gateway', startTime: start, rate: 10 });
  const requests = Array.from({ length: 120 }, () => gen.next().value!);
  const docs = requests.flatMap((r) => r.docs);

  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack.close();
    await dropPrefix(redis, stack.cfg.keyPrefix);
    redis.disconnect();
  });

  it('reads each format to the same documents', async () => {
    const half = requests.slice(0, 60);
    const ndjson = half.flatMap((r) => r.docs).map((d) => JSON.stringify(d)).join('\n') + '\n';
    const batch = {
      Traces: requests.slice(60).map((r) => ({
        Id: r.docs[0]!.trace_id,
        Duration: 1,
        Segments: [
          ...r.docs.map((d: Record<string, unknown>) => ({ Id: d.id, Document: JSON.stringify(d) })),
          // X-Ray's own inferred segments are skipped: we infer those nodes ourselves
          { Id: 'ffffffffffffffff', Document: JSON.stringify({ id: 'ffffffffffffffff', name: 'DynamoDB', inferred: true, trace_id: r.docs[0]!.trace_id, start_time: start, end_time: start + 1 }) },
        ],
      })),
    };
    writeFileSync(join(dir, 'a.ndjson'), ndjson);
    writeFileSync(join(dir, 'a.ndjson.gz'), gzipSync(ndjson));
    writeFileSync(join(dir, 'b.json'), JSON.stringify(batch, null, 2));
    writeFileSync(join(dir, 'b.json.gz'), gzipSync(JSON.stringify(batch)));
    const read = async (f: string) => {
      const out: string[] = [];
      for await (const d of readTraceFile(join(dir, f))) out.push(d.text);
      return out;
    };
    expect(await read('a.ndjson')).toEqual(await read('a.ndjson.gz'));
    expect((await read('a.ndjson')).length).toBe(half.flatMap((r) => r.docs).length);
    expect(await read('b.json')).toEqual(await read('b.json.gz'));
    expect((await read('b.json')).length).toBe(requests.slice(60).flatMap((r) => r.docs).length);
  });

  it('ingests files through the same path, with rejections naming file and line', async () => {
    writeFileSync(join(dir, 'bad.ndjson'), `${JSON.stringify(docs[0])}\n{"id":"nothex","name":"x"}\n`);
    const r = await ingestFiles(stack.server.intake, [join(dir, 'a.ndjson.gz'), join(dir, 'b.json.gz'), join(dir, 'bad.ndjson')], { chunk: 100 });
    expect(r.documents).toBe(docs.length + 2);
    expect(r.rejections).toHaveLength(1);
    expect(r.rejections[0]!.source).toMatch(/bad\.ndjson:2$/);
    await stack.drain();
    const windows = await new AggregateReader(redis, keySpace(stack.cfg.keyPrefix), stack.cfg.windowSeconds).readWindows(start - 60, start + 3600);
    const g = buildGraph(windows);
    const total = [...g.nodes.values()].filter((n) => !n.inferred && n.ref.type !== 'client').reduce((a, n) => a + n.stats.count, 0);
    // docs[0] was in the file twice: counted once
    expect(total).toBe(docs.length);
  });
});
