import { describe, expect, it } from 'vitest';
import { ingestJobSchema, parseIngestJob, type SlimDoc } from '../../src/ingest/record.js';
import { parseDocument } from '../../src/ingest/parse.js';
import { Rng } from '../../src/sim/random.js';
import { SHOP, traffic } from '../../src/sim/traffic.js';

const WEIRD: unknown[] = [null, 0, -1, 1.5, 8, 'x', '', 'r', 'a', 's', 'y'.repeat(300), true, [], {}, 1];

describe('ingest job payload validation', () => {
  const gen = traffic({ seed: 9, services: SHOP, entry: 'api-gateway', startTime: 1_790_000_000, rate: 50 });
  const docs: SlimDoc[] = [];
  for (let i = 0; i < 100; i++) for (const d of gen.next().value!.docs) {
    const r = parseDocument(JSON.stringify(d));
    if (r.ok) docs.push(...r.docs);
  }

  it('accepts what the doors produce', () => {
    const r = parseIngestJob({ id: 'b-1', docs });
    expect(r.success).toBe(true);
  });

  it('agrees with the zod schema on 5,000 corrupted payloads, and explains each refusal', () => {
    const rng = new Rng(11);
    let refused = 0;
    for (let n = 0; n < 5000; n++) {
      const job = structuredClone({ id: 'b-1', docs: docs.slice(0, 20) }) as any;
      const doc = rng.pick(job.docs) as any;
      const target = doc.c && rng.next() < 0.5 ? rng.pick(doc.c as any[]) : doc;
      const key = rng.pick(['i', 'n', 's', 'e', 'f', 'ns', 'ty', 'tr', 'st', 'c', 'k', 't', 'p']);
      target[key] = rng.pick(WEIRD);
      const fast = parseIngestJob(job);
      const zod = ingestJobSchema.safeParse(job);
      expect(fast.success).toBe(zod.success);
      if (!fast.success) {
        refused++;
        expect(fast.reason.length).toBeGreaterThan(0);
      }
    }
    expect(refused).toBeGreaterThan(1000);
  });
});

describe('raw batch claim check', () => {
  it('decodes what it encodes, documents and sources line for line', async () => {
    const { encodeRawBatch, decodeRawBatch } = await import('../../src/ingest/record.js');
    const texts = ['{"a":1}', '{"b":"x\\ny"}', ''];
    const sources = ['f.ndjson:1', 'f.ndjson:2', 'f.ndjson:3'];
    expect(decodeRawBatch(encodeRawBatch(texts, sources))).toEqual({ texts, sources });
    expect(decodeRawBatch('{"a":1}\n{"b":2}')).toEqual({ texts: ['{"a":1}', '{"b":2}'], sources: [] });
  });
});
