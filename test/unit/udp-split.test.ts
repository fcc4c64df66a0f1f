import { describe, expect, it } from 'vitest';
import { splitDatagram } from '../../src/ingest/udp.js';
import { datagramFiles } from '../helpers/captures.js';

const DOC = '{"trace_id":"1-6b069c79-f816772d7cdc462867807fa0","id":"643816e4dbb2d76e","name":"a","start_time":1795595385.1,"end_time":1795595385.2}';
const dg = (s: string | Buffer) => (typeof s === 'string' ? Buffer.from(s, 'utf8') : s);

describe('splitDatagram', () => {
  it('splits the Node SDK header (no spaces)', () => {
    expect(splitDatagram(dg(`{"format":"json","version":1}\n${DOC}`))).toEqual({ body: DOC });
  });

  it('splits the header Java, Go and Python send (with spaces)', () => {
    expect(splitDatagram(dg(`{"format": "json", "version": 1}\n${DOC}`))).toEqual({ body: DOC });
  });

  it('accepts any case of "json" and whitespace around the header', () => {
    expect(splitDatagram(dg(` { "format" : "JSON" , "version" : 1 } \n${DOC}`))).toEqual({ body: DOC });
  });

  it('trims a trailing newline (Ruby) and other trailing whitespace', () => {
    expect(splitDatagram(dg(`{"format":"json","version":1}\n${DOC}\n`))).toEqual({ body: DOC });
    expect(splitDatagram(dg(`{"format":"json","version":1}\r\n${DOC}\r\n`))).toEqual({ body: DOC });
  });

  it('splits at the first newline only: newlines inside the document stay', () => {
    const pretty = JSON.stringify(JSON.parse(DOC), null, 2);
    expect(splitDatagram(dg(`{"format":"json","version":1}\n${pretty}`))).toEqual({ body: pretty });
  });

  it('keeps multi-byte UTF-8 intact', () => {
    const doc = DOC.replace('"name":"a"', '"name":"café ✓ 服务"');
    expect(splitDatagram(dg(`{"format":"json","version":1}\n${doc}`))).toEqual({ body: doc });
  });

  it('splits every captured datagram', () => {
    for (const f of datagramFiles()) {
      const r = splitDatagram(f.bytes);
      expect(r, f.name).toHaveProperty('body');
      if ('body' in r) expect(() => JSON.parse(r.body), f.name).not.toThrow();
    }
  });

  it('drops a datagram without a newline', () => {
    expect(splitDatagram(dg(DOC))).toEqual({ drop: 'missing_header' });
    expect(splitDatagram(dg(''))).toEqual({ drop: 'missing_header' });
  });

  it('drops invalid UTF-8 in the document or the header', () => {
    const bad = Buffer.from([0xc3, 0x28, 0xff]);
    expect(splitDatagram(Buffer.concat([dg('{"format":"json","version":1}\n{"name":"'), bad, dg('"}')]))).toEqual({ drop: 'invalid_utf8' });
    expect(splitDatagram(Buffer.concat([dg('{"format":"json'), bad, dg('","version":1}\n'), dg(DOC)]))).toEqual({ drop: 'invalid_utf8' });
  });

  it.each([
    ['version 2', '{"format":"json","version":2}'],
    ['version as a string', '{"format":"json","version":"1"}'],
    ['no version', '{"format":"json"}'],
    ['another format', '{"format":"protobuf","version":1}'],
    ['a header that is not JSON', 'format=json version=1'],
    ['a JSON null header', 'null'],
    ['an empty header line', ''],
    ['the document where the header should be', DOC],
  ])('drops %s as bad_header', (_label, header) => {
    expect(splitDatagram(dg(`${header}\n${DOC}`))).toEqual({ drop: 'bad_header' });
  });

  it('drops a header with nothing after it', () => {
    expect(splitDatagram(dg('{"format":"json","version":1}\n'))).toEqual({ drop: 'empty_body' });
    expect(splitDatagram(dg('{"format":"json","version":1}\n  \n'))).toEqual({ drop: 'empty_body' });
  });
});
