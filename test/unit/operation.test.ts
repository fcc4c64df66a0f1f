import { describe, expect, it } from 'vitest';
import { operationOf } from '../../src/ingest/operation.js';
import { parseDocument } from '../../src/ingest/parse.js';

describe('operationOf: method and URL path, with what varies per request taken out', () => {
  it('drops scheme, host, query and fragment; keeps the method', () => {
    expect(operationOf({ request: { method: 'get', url: 'https://shop.example.com/api/cart?user=7#top' } })).toBe('GET /api/cart');
    expect(operationOf({ request: { url: '/hipstershop.RecommendationService/ListRecommendations' } })).toBe('/hipstershop.RecommendationService/ListRecommendations');
    expect(operationOf({ request: { method: 'POST', url: 'http://h' } })).toBe('POST /');
  });

  it('identifiers in the path become {id}: numbers, UUIDs, long hex, long mixed tokens', () => {
    expect(operationOf({ request: { method: 'GET', url: '/api/orders/8812' } })).toBe('GET /api/orders/{id}');
    expect(operationOf({ request: { method: 'GET', url: '/u/123e4567-e89b-12d3-a456-426614174000/cart' } })).toBe('GET /u/{id}/cart');
    expect(operationOf({ request: { method: 'GET', url: '/blob/deadbeef42' } })).toBe('GET /blob/{id}');
    expect(operationOf({ request: { method: 'GET', url: '/s/01HF3K9ZQ8X7Y6W5V4T3S2R1QP' } })).toBe('GET /s/{id}');
    // words stay words, however long
    expect(operationOf({ request: { method: 'GET', url: '/api/recommendations/personalised' } })).toBe('GET /api/recommendations/personalised');
  });

  it("no URL, no operation; '|' (the field separator) and odd characters never pass; long paths are cut", () => {
    expect(operationOf(undefined)).toBeUndefined();
    expect(operationOf({ request: { method: 'GET' } })).toBeUndefined();
    expect(operationOf({ request: { url: '/a|b c' } })).toBe('/a_b_c');
    expect(operationOf({ request: { method: 'NOT A METHOD', url: '/x' } })).toBe('/x');
    const long = operationOf({ request: { url: '/' + 'segment/'.repeat(40) } })!;
    expect(long.length).toBeLessThanOrEqual(120);
    expect(long.split('/').length - 1).toBe(8);
  });

  it('a parsed segment carries it as u; a segment without http has none', () => {
    const seg = (extra: object) =>
      JSON.stringify({ trace_id: '1-5f84c7a8-9b8b0a8a1e2f3a4b5c6d7e8f', id: '70de5b6f19ff9a0a', name: 'api', start_time: 1700000000, end_time: 1700000001, ...extra });
    const a = parseDocument(seg({ http: { request: { method: 'GET', url: 'https://api/orders/9?q=1' } } }));
    expect(a.ok && a.docs[0]!.u).toBe('GET /orders/{id}');
    const b = parseDocument(seg({}));
    expect(b.ok && b.docs[0]!.u).toBeUndefined();
  });
});
