import { describe, expect, it } from 'vitest';
import { buildWaterfall, exceptionsOf, spanDetails } from '../../src/console/lib/waterfall.js';

const T = 1_790_000_000;
const trace = '1-6a9f1c00-0123456789abcdef01234567';

describe('console waterfall', () => {
  it('nests subsegments in their segment and a downstream segment under the call that made it', () => {
    const front = {
      trace_id: trace, id: 'a000000000000001', name: 'front', start_time: T, end_time: T + 0.5, http: { response: { status: 500 } }, fault: true,
      subsegments: [
        { id: 'b000000000000001', name: 'back', namespace: 'remote', start_time: T + 0.1, end_time: T + 0.4, fault: true },
        { id: 'b000000000000000', name: 'cache', start_time: T + 0.01, end_time: T + 0.02 },
      ],
    };
    const back = { trace_id: trace, id: 'c000000000000001', parent_id: 'b000000000000001', name: 'back', start_time: T + 0.15, end_time: T + 0.35, fault: true, cause: { exceptions: [{ id: 'e1', type: 'Boom', message: 'it broke', stack: [{ label: 'run', path: 'app.js', line: 7 }] }] } };
    // documents arrive in any order, as text or objects
    const w = buildWaterfall([JSON.stringify(back), front]);
    expect(w.rows.map((r) => [r.span.name, r.depth, r.span.kind])).toEqual([
      ['front', 0, 'segment'],
      ['cache', 1, 'subsegment'],
      ['back', 1, 'subsegment'],
      ['back', 2, 'segment'],
    ]);
    expect(w.start).toBe(T);
    expect(w.end).toBe(T + 0.5);
    expect(w.rows.map((r) => r.span.outcome)).toEqual(['fault', 'ok', 'fault', 'fault']);
    expect(w.rows[0]!.span.httpStatus).toBe(500);
    expect(w.rows[1]!.span.service).toBe('front');
    expect(spanDetails(w.rows[3]!.span).map(([k]) => k)).toEqual(['cause']);
    expect(exceptionsOf(w.rows[3]!.span.doc.cause)).toEqual([{ id: 'e1', type: 'Boom', message: 'it broke', stack: ['run (app.js:7)'] }]);
    // the segment's own fields, without its subsegments
    expect(w.rows[0]!.span.doc.subsegments).toBeUndefined();
  });

  it('streamed subsegments nest by parent_id, and a completed copy replaces the in-progress one', () => {
    const seg = { trace_id: trace, id: 'a000000000000001', name: 'worker', start_time: T, end_time: T + 2, subsegments: [{ id: 's000000000000001', name: 'job', start_time: T + 0.1, in_progress: true }] };
    const done = { type: 'subsegment', trace_id: trace, parent_id: 'a000000000000001', id: 's000000000000001', name: 'job', start_time: T + 0.1, end_time: T + 1.5, throttle: true, error: true };
    const inner = { type: 'subsegment', trace_id: trace, parent_id: 's000000000000001', id: 's000000000000002', name: 'DynamoDB', namespace: 'aws', start_time: T + 0.2, end_time: T + 0.3, aws: { operation: 'GetItem' } };
    const w = buildWaterfall([inner, done, seg]);
    expect(w.rows.map((r) => [r.span.id, r.depth])).toEqual([
      ['a000000000000001', 0],
      ['s000000000000001', 1],
      ['s000000000000002', 2],
    ]);
    const job = w.rows[1]!.span;
    expect(job.end).toBe(T + 1.5);
    expect(job.outcome).toBe('throttle');
    expect(w.rows[2]!.span.service).toBe('worker');
    expect(spanDetails(w.rows[2]!.span)).toEqual([['aws', { operation: 'GetItem' }]]);
  });

  it('an entity whose parent never arrived, or in progress, is still shown; unreadable documents are skipped', () => {
    const lost = { type: 'subsegment', trace_id: trace, parent_id: 'ffffffffffffffff', id: 's1', name: 'lost', start_time: T + 1, end_time: T + 1.2 };
    const open = { trace_id: trace, id: 'a1', name: 'api', start_time: T, in_progress: true };
    const w = buildWaterfall([lost, open, 'not json', 42, { id: 'x' }]);
    expect(w.rows.map((r) => [r.span.name, r.depth, r.span.end])).toEqual([
      ['api', 0, null],
      ['lost', 0, T + 1.2],
    ]);
    expect(w.end).toBe(T + 1.2);
  });

  it('a parent loop does not hang and loses nothing', () => {
    const a = { type: 'subsegment', trace_id: trace, parent_id: 'b', id: 'a', name: 'a', start_time: T, end_time: T + 1 };
    const b = { type: 'subsegment', trace_id: trace, parent_id: 'a', id: 'b', name: 'b', start_time: T, end_time: T + 1 };
    expect(buildWaterfall([a, b]).rows.map((r) => r.span.id).sort()).toEqual(['a', 'b']);
    expect(buildWaterfall([])).toEqual({ start: 0, end: 0, rows: [], roots: [] });
  });
});
