import { describe, expect, it } from 'vitest';
import { formatTimeline, timelineOf } from '../../src/traces/cli/timeline.js';
import { summaryTable } from '../../src/traces/cli/table.js';
import { parseTimeArg } from '../../src/traces/cli/time-arg.js';
import { traceCommand, tracesCommand, type TraceCliIo } from '../../src/traces/cli/cli.js';
import type { TraceSummary } from '../../src/traces/cli/client.js';

const T = 1_796_648_400; // 2026-12-07T13:00:00Z
const TRACE = '1-6b1a0a50-0123456789abcdef01234567';

// front calls billing over HTTP; billing's segment names that call as its parent; a subsegment of
// front was streamed on its own; documents arrive in no useful order
const front = {
  trace_id: TRACE,
  id: 'f000000000000001',
  name: 'front',
  start_time: T,
  end_time: T + 0.5,
  http: { request: { method: 'GET', url: 'https://shop.example/orders/7' }, response: { status: 500 } },
  fault: true,
  annotations: { tier: 'gold', n: 7, note: 'two words' },
  subsegments: [
    {
      id: 'c000000000000001',
      name: 'billing',
      namespace: 'remote',
      start_time: T + 0.1,
      end_time: T + 0.4,
      http: { request: { method: 'POST', url: 'http://billing/charge' }, response: { status: 500 } },
      fault: true,
    },
    {
      id: 'c000000000000002',
      name: 'DynamoDB',
      namespace: 'aws',
      start_time: T + 0.02,
      end_time: T + 0.05,
      aws: { operation: 'GetItem', table_name: 'orders' },
    },
  ],
};
const billing = {
  trace_id: TRACE,
  id: 'b000000000000001',
  parent_id: 'c000000000000001',
  name: 'billing',
  start_time: T + 0.15,
  end_time: T + 0.35,
  fault: true,
  cause: { exceptions: [{ id: 'e000000000000001', type: 'CardDeclined', message: 'gateway said no' }] },
  subsegments: [{ id: 'd000000000000001', name: 'postgres', start_time: T + 0.2, end_time: T + 0.3, sql: { sanitized_query: 'select * from cards where id = $1' } }],
};
const streamed = {
  type: 'subsegment',
  trace_id: TRACE,
  id: 'a000000000000001',
  parent_id: 'f000000000000001',
  name: 'render',
  start_time: T + 0.42,
  end_time: T + 0.49,
  error: true,
};

describe('trace timeline', () => {
  const t = timelineOf([billing, streamed, front]);

  it('nests subsegments, streamed ones and called segments under their parents, in start order', () => {
    expect(t.start).toBe(T);
    expect(t.duration).toBe(0.5);
    expect(t.segments).toBe(2);
    expect(t.entries.map((e) => [e.depth, e.name])).toEqual([
      [0, 'front'],
      [1, 'DynamoDB'],
      [1, 'billing'],
      [2, 'billing'],
      [3, 'postgres'],
      [1, 'render'],
    ]);
    const seg = t.entries[3]!;
    expect(seg.isSegment).toBe(true);
    expect(seg.offset).toBe(0.15);
    expect(seg.duration).toBe(0.2);
    expect(seg.marks).toEqual(['FAULT']);
    expect(seg.exception).toBe('CardDeclined: gateway said no');
  });

  it('prints offset, duration, name indented by depth, operation, marks and annotations', () => {
    expect(formatTimeline(TRACE, t)).toEqual([
      `trace ${TRACE}  2026-12-07T13:00:00.000Z  500.0 ms  2 segments`,
      '  +0.0 ms  500.0 ms  front  GET https://shop.example/orders/7 500  FAULT  tier=gold n=7 note="two words"',
      ' +20.0 ms   30.0 ms    DynamoDB  GetItem orders',
      '+100.0 ms  300.0 ms    billing  POST http://billing/charge 500  FAULT',
      '+150.0 ms  200.0 ms      billing  FAULT  (CardDeclined: gateway said no)',
      '+200.0 ms  100.0 ms        postgres  SQL select * from cards where id = $1',
      '+420.0 ms   70.0 ms    render  ERROR',
    ]);
  });

  it('keeps a subsegment whose parent never arrived, an in-progress segment, and a parent_id loop, each once', () => {
    const a = { trace_id: TRACE, id: 'a000000000000001', parent_id: 'b000000000000002', name: 'a', start_time: T + 1 };
    const b = { trace_id: TRACE, id: 'b000000000000002', parent_id: 'a000000000000001', name: 'b', start_time: T + 2, end_time: T + 3 };
    const orphan = { type: 'subsegment', trace_id: TRACE, id: 'c000000000000009', parent_id: 'ffffffffffffffff', name: 'orphan', start_time: T, end_time: T + 0.25, throttle: true, error: true };
    const open = { trace_id: TRACE, id: 'e000000000000009', name: 'open', start_time: T + 0.5, in_progress: true };
    const tl = timelineOf([a, b, orphan, open]);
    expect(tl.entries.map((e) => e.name).sort()).toEqual(['a', 'b', 'open', 'orphan']);
    expect(tl.entries.find((e) => e.name === 'orphan')!.marks).toEqual(['THROTTLE']);
    const o = tl.entries.find((e) => e.name === 'open')!;
    expect(o.marks).toEqual(['IN PROGRESS']);
    expect(o.duration).toBeUndefined();
    expect(formatTimeline(TRACE, tl).find((l) => l.includes('open'))).toMatch(/^\s*\+500\.0 ms\s+…  open  IN PROGRESS$/);
  });
});

describe('trace summary table', () => {
  const s = (over: Partial<TraceSummary>): TraceSummary => ({ Id: TRACE, StartTime: T + 0.25, ResponseTime: 0.5, HasFault: false, HasError: false, HasThrottle: false, ...over });

  it('shows time in UTC, id, response time, status with marks, request and services', () => {
    const lines = summaryTable([
      s({ Http: { HttpMethod: 'GET', HttpURL: 'https://shop.example/orders/7', HttpStatus: 500 }, HasFault: true, ServiceIds: [{ Name: 'front' }, { Name: 'billing' }] }),
      s({ Id: '1-6b1a0a50-ffffffffffffffffffffffff', ResponseTime: 1.25, Http: { HttpStatus: 429 }, HasError: true, HasThrottle: true, IsPartial: true, ServiceIds: [] }),
      s({ Id: '1-6b1a0a51-000000000000000000000000', ResponseTime: undefined, Duration: 0.0124, Http: { HttpMethod: 'POST', HttpURL: `https://shop.example/${'x'.repeat(80)}` } }),
    ]);
    expect(lines).toEqual([
      'TIME (UTC)                TRACE ID                              RESPONSE  STATUS                METHOD URL                                                    SERVICES',
      `2026-12-07T13:00:00.250Z  ${TRACE}   500.0 ms  500 FAULT             GET https://shop.example/orders/7                             front,billing`,
      '2026-12-07T13:00:00.250Z  1-6b1a0a50-ffffffffffffffffffffffff  1250.0 ms  429 THROTTLE PARTIAL  -                                                             -',
      `2026-12-07T13:00:00.250Z  1-6b1a0a51-000000000000000000000000    12.4 ms  -                     POST https://shop.example/${'x'.repeat(33)}…  -`,
    ]);
  });
});

describe('time arguments', () => {
  it('reads durations ago, ISO times (UTC without a zone) and epoch seconds', () => {
    expect(parseTimeArg('15m', T)).toBe(T - 900);
    expect(parseTimeArg('1h30m', T)).toBe(T - 5400);
    expect(parseTimeArg('2d', T)).toBe(T - 172_800);
    expect(parseTimeArg('2026-12-07T12:00:00Z', T)).toBe(T - 3600);
    expect(parseTimeArg('2026-12-07T12:00:00', T)).toBe(T - 3600);
    expect(parseTimeArg('2026-12-07 12:00', T)).toBe(T - 3600);
    expect(parseTimeArg('2026-12-07T14:00:00+02:00', T)).toBe(T - 3600);
    expect(parseTimeArg('2026-12-07', T)).toBe(T - 13 * 3600);
    expect(parseTimeArg(String(T), 0)).toBe(T);
    for (const bad of ['', '1', 'h', '5x', 'yesterday', '2026-13-45']) expect(parseTimeArg(bad, T)).toBeUndefined();
  });
});

describe('traces and trace commands', () => {
  function io(answer: (path: string, body: Record<string, unknown>) => Response) {
    const out: string[] = [];
    const err: string[] = [];
    const bodies: Record<string, unknown>[] = [];
    const fake: TraceCliIo = {
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      env: { TRACE_INSIGHTS_URL: 'http://svc.example:2000' },
      now: () => T,
      fetch: async (url, init) => {
        const body = JSON.parse(String(init?.body)) as Record<string, unknown>;
        bodies.push(body);
        return answer(new URL(String(url)).pathname, body);
      },
    };
    return { fake, out, err, bodies };
  }
  const awsError = (status: number, type: string, message: string) => Response.json({ __type: type, message }, { status });

  it('follows NextToken until it has --limit summaries, over --since..now', async () => {
    const pages = [[1, 2], [3, 4], [5]];
    const { fake, out, err, bodies } = io((_, b) => {
      const n = b.NextToken === undefined ? 0 : Number(b.NextToken);
      return Response.json({ TraceSummaries: pages[n]!.map((i) => ({ Id: `1-6b1a0a50-${String(i).padStart(24, '0')}`, StartTime: T })), ...(n < 2 ? { NextToken: String(n + 1) } : {}) });
    });
    expect(await tracesCommand({ since: '15m', limit: '3', json: true }, fake)).toBe(0);
    expect(bodies.map((b) => b.NextToken)).toEqual([undefined, '1']);
    expect(bodies[0]).toMatchObject({ StartTime: T - 900, EndTime: T });
    expect((JSON.parse(out.join('\n')) as TraceSummary[]).map((s) => s.Id.slice(-1))).toEqual(['1', '2', '3']);
    expect(err).toEqual([expect.stringMatching(/showing the first 3; there are more/)]);
  });

  it('turns a refused filter, a missing store and a missing trace into one line and an exit code', async () => {
    const bad = io(() => awsError(400, 'InvalidRequestException', 'Invalid filter expression: expected a value at 1:18'));
    expect(await tracesCommand({ filter: 'annotation.tier = ' }, bad.fake)).toBe(2);
    expect(bad.err).toEqual(['traces: refused: http://svc.example:2000 answered 400 InvalidRequestException: Invalid filter expression: expected a value at 1:18']);
    expect(bad.bodies[0]).toMatchObject({ FilterExpression: 'annotation.tier =' });

    const none = io(() => awsError(503, 'ServiceUnavailableException', 'this deployment keeps no traces (no trace store is configured)'));
    expect(await traceCommand(TRACE, {}, none.fake)).toBe(1);
    expect(none.err).toEqual([expect.stringMatching(/^trace: .* answered 503 ServiceUnavailableException: this deployment keeps no traces/)]);

    const unknown = io(() => Response.json({ Traces: [], UnprocessedTraceIds: [TRACE] }));
    expect(await traceCommand(TRACE, {}, unknown.fake)).toBe(1);
    expect(unknown.err).toEqual([`trace: http://svc.example:2000 has no trace ${TRACE} (never stored, or past retention)`]);

    const html = io(() => new Response('<html>hello</html>', { status: 200 }));
    expect(await tracesCommand({}, html.fake)).toBe(1);
    expect(html.err).toEqual([expect.stringMatching(/did not answer as the X-Ray API does/)]);

    const args = io(() => Response.json({}));
    expect(await tracesCommand({ limit: '0' }, args.fake)).toBe(2);
    expect(await tracesCommand({ since: '1h', until: '2h' }, args.fake)).toBe(2);
    expect(await tracesCommand({ endpoint: 'ftp://x' }, args.fake)).toBe(2);
    expect(args.err).toHaveLength(3);
    expect(args.bodies).toEqual([]);
  });

  it('prints the documents of a trace with --json', async () => {
    const { fake, out } = io(() => Response.json({ Traces: [{ Id: TRACE, Duration: 0.5, Segments: [{ Id: front.id, Document: JSON.stringify(front) }] }], UnprocessedTraceIds: [] }));
    expect(await traceCommand(TRACE, { json: true }, fake)).toBe(0);
    expect(JSON.parse(out.join('\n'))).toEqual([front]);
  });
});
