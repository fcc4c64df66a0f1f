import { describe, expect, it } from 'vitest';
import { matches } from '../../src/traces/filter/evaluate.js';
import { parseFilter } from '../../src/traces/filter/parse.js';

const T0 = 1714489900;
const TRACE = '1-66310a2c-5b1e8c0f2a4d6e7f8091a2b3';

function m(expression: string, documents: object[]): boolean {
  const r = parseFilter(expression);
  if (!r.ok) throw new Error(r.error.message);
  return matches(r.ast, { documents });
}

/**
 * A faulty checkout. orders-api (root, 502, 0.4 s) calls cache.internal (remote, 200, no segment of its
 * own: an inferred node) and payments.internal (remote, 503), which payments answers with its own
 * segment (503, 0.32 s). payments calls DynamoDB (aws, 500, 0.30 s: inferred AWS::DynamoDB::Table) and
 * streams an audit subsegment independently, which ends after the root: the trace lasts 0.6 s.
 */
const checkout: object[] = [
  {
    trace_id: TRACE,
    id: 'a000000000000001',
    name: 'orders-api',
    origin: 'AWS::ECS::Container',
    start_time: T0,
    end_time: T0 + 0.4,
    user: 'cust-4411',
    fault: true,
    http: {
      request: { method: 'POST', url: 'https://orders.example.com/api/orders', user_agent: 'curl/8.5.0', client_ip: '10.0.3.17' },
      response: { status: 502 },
    },
    aws: { account_id: '111111111111', ec2: { availability_zone: 'us-east-1a' } },
    annotations: { tenant: 'acme', order_total: 129.5, retry: false },
    subsegments: [
      {
        id: 'b000000000000001',
        name: 'cache.internal',
        namespace: 'remote',
        start_time: T0 + 0.01,
        end_time: T0 + 0.03,
        http: { request: { method: 'GET', url: 'http://cache.internal/k' }, response: { status: 200 } },
      },
      {
        id: 'b000000000000002',
        name: 'payments.internal',
        namespace: 'remote',
        traced: true,
        start_time: T0 + 0.05,
        end_time: T0 + 0.39,
        fault: true,
        http: { request: { method: 'POST', url: 'http://payments.internal/charge' }, response: { status: 503 } },
        cause: { exceptions: [{ id: 'cb22dd35545a4fe8', type: 'Error', message: 'Service Unavailable', remote: true }] },
      },
    ],
  },
  {
    trace_id: TRACE,
    id: 'c000000000000001',
    parent_id: 'b000000000000002',
    name: 'payments',
    origin: 'AWS::EC2::Instance',
    start_time: T0 + 0.06,
    end_time: T0 + 0.38,
    fault: true,
    http: { request: { method: 'POST', url: 'http://payments.internal/charge' }, response: { status: 503 } },
    annotations: { attempt: 2 },
    subsegments: [
      {
        id: 'd000000000000001',
        name: 'DynamoDB',
        namespace: 'aws',
        start_time: T0 + 0.07,
        end_time: T0 + 0.37,
        fault: true,
        http: { response: { status: 500 } },
        aws: { operation: 'PutItem', table_name: 'payments' },
        cause: { exceptions: [{ id: 'cb22dd35545a4fe9', type: 'InternalServerError', message: 'Internal server error' }] },
      },
    ],
  },
  {
    type: 'subsegment',
    trace_id: TRACE,
    id: 'e000000000000001',
    parent_id: 'c000000000000001',
    name: '## audit',
    start_time: T0 + 0.45,
    end_time: T0 + 0.6,
    annotations: { audited: true },
  },
];

/** A web request that succeeds although a search call erred (404) and a DynamoDB call was throttled. */
const handled: object[] = [
  {
    trace_id: TRACE,
    id: 'f000000000000001',
    name: 'web',
    start_time: T0,
    end_time: T0 + 0.2,
    http: { request: { method: 'GET', url: 'https://shop.example.com/' }, response: { status: 200 } },
    subsegments: [
      { id: 'f000000000000002', name: 'search', namespace: 'remote', start_time: T0 + 0.01, end_time: T0 + 0.05, error: true, http: { response: { status: 404 } } },
      { id: 'f000000000000003', name: 'DynamoDB', namespace: 'aws', start_time: T0 + 0.06, end_time: T0 + 0.07, error: true, throttle: true, http: { response: { status: 429 } } },
    ],
  },
  {
    trace_id: TRACE,
    id: 'f000000000000004',
    parent_id: 'f000000000000002',
    name: 'search',
    start_time: T0 + 0.02,
    end_time: T0 + 0.04,
    error: true,
    http: { response: { status: 404 } },
  },
];

const root = (extra: object, start = T0, end = T0 + 0.1): object => ({ trace_id: TRACE, id: '1000000000000001', name: 'svc', start_time: start, end_time: end, ...extra });

describe('matches: empty expression', () => {
  it('matches every trace, even one without documents', () => {
    expect(m('', checkout)).toBe(true);
    expect(m('  ', [])).toBe(true);
  });
});

describe('matches: trace-level keywords read the root segment', () => {
  it('classifies a faulty root', () => {
    expect(m('fault', checkout)).toBe(true);
    expect(m('ok', checkout)).toBe(false);
    expect(m('error', checkout)).toBe(false);
    expect(m('throttle', checkout)).toBe(false);
    expect(m('ok = false', checkout)).toBe(true);
    expect(m('fault != true', checkout)).toBe(false);
  });

  it('does not see a handled downstream error', () => {
    expect(m('ok', handled)).toBe(true);
    expect(m('error', handled)).toBe(false);
    expect(m('throttle', handled)).toBe(false);
  });

  it('classifies by status when the flags are absent: 429 is an error and a throttle', () => {
    const throttled = [root({ http: { response: { status: 429 } } })];
    expect(m('throttle AND error', throttled)).toBe(true);
    expect(m('fault OR ok', throttled)).toBe(false);
    expect(m('ok', [root({})])).toBe(true);
    expect(m('fault', [root({ http: { response: { status: 503 } } })])).toBe(true);
  });

  it('takes responsetime from the root and duration from the whole trace', () => {
    expect(m('responsetime = 0.4', checkout)).toBe(true);
    expect(m('responsetime > 0.4', checkout)).toBe(false);
    expect(m('duration = 0.6', checkout)).toBe(true);
    expect(m('duration > 0.5 AND responsetime < 0.5', checkout)).toBe(true);
    const slow = [root({}, T0, T0 + 6)];
    expect(m('responsetime > 5', slow)).toBe(true);
    expect(m('ok responsetime > 5', slow)).toBe(true);
  });

  it('compares http.status with every operator', () => {
    expect(m('http.status = 502', checkout)).toBe(true);
    expect(m('http.status != 200', checkout)).toBe(true);
    expect(m('http.status < 503', checkout)).toBe(true);
    expect(m('http.status <= 502', checkout)).toBe(true);
    expect(m('http.status > 501', checkout)).toBe(true);
    expect(m('http.status >= 502', checkout)).toBe(true);
    expect(m('http.status != 502', checkout)).toBe(false);
    expect(m('http.status < 502', checkout)).toBe(false);
    expect(m('http.status > 502', checkout)).toBe(false);
  });

  it('finds nothing to compare when the root has no status', () => {
    expect(m('http.status != 200', [root({})])).toBe(false);
    expect(m('!(http.status = 200)', [root({})])).toBe(true);
  });

  it('reads the root request fields with every string operator', () => {
    expect(m('http.url = "https://orders.example.com/api/orders"', checkout)).toBe(true);
    expect(m('http.url != "https://orders.example.com/api/orders"', checkout)).toBe(false);
    expect(m('http.url CONTAINS "/api/"', checkout)).toBe(true);
    expect(m('http.url BEGINSWITH "https://orders."', checkout)).toBe(true);
    expect(m('http.url ENDSWITH "/orders"', checkout)).toBe(true);
    expect(m('http.url ENDSWITH "/Orders"', checkout)).toBe(false);
    expect(m('http.method = "POST"', checkout)).toBe(true);
    expect(m('http.useragent BEGINSWITH "curl/"', checkout)).toBe(true);
    expect(m('http.clientip = "10.0.3.17"', checkout)).toBe(true);
    // a downstream segment's URL is not the trace's
    expect(m('http.url CONTAINS "payments"', checkout)).toBe(false);
  });

  it('tests that a field is set, bare or with CONTAINS ""', () => {
    expect(m('http.url AND responseTime > 0.3', checkout)).toBe(true);
    expect(m('user CONTAINS ""', checkout)).toBe(true);
    expect(m('user', handled)).toBe(false);
    expect(m('user CONTAINS ""', handled)).toBe(false);
    expect(m('!http.useragent', handled)).toBe(true);
  });

  it('reads user, availabilityzone, instance.id and resource.arn from any segment', () => {
    const twoUsers = [root({ user: 'alice' }), { trace_id: TRACE, id: '1000000000000002', parent_id: '1000000000000001', name: 'b', start_time: T0, end_time: T0 + 0.05, user: 'bob' }];
    expect(m('user = "bob"', twoUsers)).toBe(true);
    expect(m('user = "alice"', twoUsers)).toBe(true);
    expect(m('user = "carol"', twoUsers)).toBe(false);
    expect(m('availabilityzone = "us-east-1a"', checkout)).toBe(true);
    expect(m('instance.id', checkout)).toBe(false);
    const lambda = [root({ resource_arn: 'arn:aws:lambda:us-east-1:111111111111:function:f', aws: { ec2: { instance_id: 'i-0abc' } } })];
    expect(m('resource.arn ENDSWITH ":function:f" AND instance.id = "i-0abc"', lambda)).toBe(true);
  });

  it('picks as root the segment without parent_id, whatever the document order', () => {
    const docs = [
      { trace_id: TRACE, id: '2000000000000002', parent_id: '2000000000000009', name: 'late', start_time: T0 - 1, end_time: T0, fault: true },
      root({ http: { response: { status: 200 } } }),
    ];
    expect(m('ok', docs)).toBe(true);
  });

  it('keeps the later complete document of one id', () => {
    const placeholder = root({ in_progress: true, end_time: undefined });
    const complete = root({ fault: true });
    expect(m('fault !partial', [placeholder, complete])).toBe(true);
    expect(m('fault !partial', [complete, placeholder])).toBe(true);
    expect(m('ok', [root({ fault: true }), root({})])).toBe(true);
  });
});

describe('matches: partial and inferred', () => {
  it('is partial when any segment or subsegment is still in progress', () => {
    expect(m('partial', checkout)).toBe(false);
    expect(m('ok !partial duration < 3', [root({})])).toBe(true);
    const open = [root({ subsegments: [{ id: '1000000000000003', name: 'x', start_time: T0, in_progress: true }] })];
    expect(m('partial', open)).toBe(true);
    const rootOpen = [root({ in_progress: true, end_time: undefined })];
    expect(m('partial', rootOpen)).toBe(true);
    expect(m('responsetime >= 0', rootOpen)).toBe(false);
  });

  it('has inferred segments when a call no segment answered names a node', () => {
    expect(m('inferred', checkout)).toBe(true);
    expect(m('inferred', [root({})])).toBe(false);
  });
});

describe('matches: annotations', () => {
  it('compares strings, numbers and booleans from any entity of the trace', () => {
    expect(m('annotation.tenant = "acme"', checkout)).toBe(true);
    expect(m('annotation.tenant != "acme"', checkout)).toBe(false);
    expect(m('annotation.tenant BEGINSWITH "ac"', checkout)).toBe(true);
    expect(m('annotation.tenant CONTAINS "cm" AND annotation.tenant ENDSWITH "me"', checkout)).toBe(true);
    expect(m('annotation.order_total > 100', checkout)).toBe(true);
    expect(m('annotation.order_total = 129.5', checkout)).toBe(true);
    expect(m('annotation.order_total <= 129', checkout)).toBe(false);
    expect(m('annotation.retry = false', checkout)).toBe(true);
    expect(m('annotation.retry != true', checkout)).toBe(true);
    expect(m('annotation.attempt = 2', checkout)).toBe(true); // on the payments segment
    expect(m('annotation.audited = true', checkout)).toBe(true); // on the independent subsegment
  });

  it('does not match a value of another type', () => {
    expect(m('annotation.order_total = "129.5"', checkout)).toBe(false);
    expect(m('annotation.tenant = 5', checkout)).toBe(false);
    expect(m('annotation.tenant != 5', checkout)).toBe(false);
    expect(m('annotation.retry = 0', checkout)).toBe(false);
    expect(m('annotation.attempt = true', checkout)).toBe(false);
  });

  it('tests presence bare, where a false boolean counts as false', () => {
    expect(m('annotation.tenant', checkout)).toBe(true);
    expect(m('annotation.missing', checkout)).toBe(false);
    expect(m('!annotation.missing', checkout)).toBe(true);
    expect(m('annotation.retry', checkout)).toBe(false);
    expect(m('!annotation.retry', checkout)).toBe(true);
    expect(m('annotation.audited', checkout)).toBe(true);
  });
});

describe('matches: AND, OR, NOT, juxtaposition', () => {
  it('follows precedence: ! over AND over OR', () => {
    expect(m('fault OR ok error', checkout)).toBe(true); // fault OR (ok AND error)
    expect(m('(fault OR ok) error', checkout)).toBe(false);
    expect(m('ok AND fault OR fault', checkout)).toBe(true);
    expect(m('ok AND (fault OR fault)', checkout)).toBe(false);
    expect(m('!ok AND fault', checkout)).toBe(true);
    expect(m('!(ok OR fault)', checkout)).toBe(false);
    expect(m('NOT ok fault', checkout)).toBe(true);
    expect(m('ok fault', checkout)).toBe(false);
  });
});

describe('matches: service()', () => {
  it('finds the nodes a trace reaches, instrumented or inferred', () => {
    expect(m('service("payments")', checkout)).toBe(true);
    expect(m('service("cache.internal")', checkout)).toBe(true);
    expect(m('service("nope")', checkout)).toBe(false);
    expect(m('!service("nope")', checkout)).toBe(true);
    expect(m('http.url BEGINSWITH "https://orders" AND !service("payments")', checkout)).toBe(false);
  });

  it('evaluates braces on that service\'s own segments', () => {
    expect(m('service("payments") { fault }', checkout)).toBe(true);
    expect(m('service("payments") { http.status = 503 AND responsetime > 0.3 }', checkout)).toBe(true);
    expect(m('service("payments") { responsetime > 0.35 }', checkout)).toBe(false);
    expect(m('service("cache.internal") { fault }', checkout)).toBe(false);
    expect(m('service("cache.internal") { ok AND inferred }', checkout)).toBe(true);
    expect(m('service("DynamoDB") { inferred AND fault AND http.status = 500 }', checkout)).toBe(true);
    expect(m('service("orders-api") { root AND user = "cust-4411" }', checkout)).toBe(true);
    expect(m('service("payments") { root }', checkout)).toBe(false);
  });

  it('evaluates one segment at a time', () => {
    // payments faults and payments is not the root: no single segment is both
    expect(m('service("payments") { fault AND root }', checkout)).toBe(false);
  });

  it('takes any node without a name', () => {
    expect(m('service() { fault }', checkout)).toBe(true);
    expect(m('service() { throttle }', handled)).toBe(true);
    expect(m('service() { fault }', handled)).toBe(false);
    expect(m('service("search") { error }', handled)).toBe(true);
  });

  it('narrows nodes with id()', () => {
    expect(m('service(id(name: "payments", type: "AWS::EC2::Instance")) { fault }', checkout)).toBe(true);
    expect(m('service(id(name: "payments", type: "AWS::Lambda::Function"))', checkout)).toBe(false);
    expect(m('service(id(type: "AWS::DynamoDB::Table")) { fault }', checkout)).toBe(true);
    expect(m('service(id(type: "remote")) { ok }', checkout)).toBe(true);
    expect(m('service(id(account.id: "111111111111")) { root }', checkout)).toBe(true);
    expect(m('service(id(name: "orders-api", account.id: "999999999999"))', checkout)).toBe(false);
  });

  it('tells same-name nodes of different types apart', () => {
    const lambda = [
      root({ name: 'random-name', origin: 'AWS::Lambda', http: { response: { status: 200 } } }),
      { trace_id: TRACE, id: '1000000000000002', parent_id: '1000000000000001', name: 'random-name', origin: 'AWS::Lambda::Function', start_time: T0, end_time: T0 + 0.05, error: true },
    ];
    expect(m('service("random-name") { error }', lambda)).toBe(true);
    expect(m('service(id(name: "random-name", type: "AWS::Lambda::Function")) { error }', lambda)).toBe(true);
    expect(m('service(id(name: "random-name", type: "AWS::Lambda")) { error }', lambda)).toBe(false);
  });
});

describe('matches: edge()', () => {
  it('follows calls from caller to callee only', () => {
    expect(m('edge("orders-api", "payments")', checkout)).toBe(true);
    expect(m('edge("payments", "orders-api")', checkout)).toBe(false);
    expect(m('edge("orders-api", "DynamoDB")', checkout)).toBe(false);
    expect(m('edge("payments", "DynamoDB")', checkout)).toBe(true);
  });

  it('evaluates braces on the call', () => {
    expect(m('edge("orders-api", "payments") { fault AND http.status = 503 }', checkout)).toBe(true);
    expect(m('edge("orders-api", "cache.internal") { ok }', checkout)).toBe(true);
    expect(m('edge("orders-api", "cache.internal") { fault }', checkout)).toBe(false);
    expect(m('edge("payments", "DynamoDB") { fault AND responsetime >= 0.3 }', checkout)).toBe(true);
    expect(m('edge("web", "search") { error }', handled)).toBe(true);
    expect(m('edge("web", "DynamoDB") { throttle }', handled)).toBe(true);
  });

  it('matches ends by id()', () => {
    expect(m('edge(id(name: "orders-api", type: "AWS::ECS::Container"), id(type: "remote"))', checkout)).toBe(true);
    expect(m('edge(id(type: "AWS::EC2::Instance"), id(type: "AWS::DynamoDB::Table")) { fault }', checkout)).toBe(true);
  });

  it('uses the callee segment when the caller named itself, not a call, as parent', () => {
    const docs = [
      root({ name: 'a', http: { response: { status: 200 } } }),
      { trace_id: TRACE, id: '1000000000000002', parent_id: '1000000000000001', name: 'b', start_time: T0, end_time: T0 + 0.05, fault: true },
    ];
    expect(m('edge("a", "b") { fault }', docs)).toBe(true);
  });
});

describe('matches: root causes', () => {
  it('paths a fault down to the deepest faulting entity, ending on the inferred node', () => {
    expect(m('rootcause.fault.service { name = "payments" }', checkout)).toBe(true);
    expect(m('rootcause.fault.service { first AND name = "orders-api" }', checkout)).toBe(true);
    expect(m('rootcause.fault.service { index = 1 AND name = "payments" }', checkout)).toBe(true);
    expect(m('rootcause.fault.service { last AND inferred AND type = "AWS::DynamoDB::Table" AND name = "DynamoDB" }', checkout)).toBe(true);
    expect(m('rootcause.fault.service { last AND name = "payments" }', checkout)).toBe(false);
    expect(m('rootcause.fault.service { account.id = "111111111111" }', checkout)).toBe(true);
    expect(m('rootcause.fault.service { index > 2 }', checkout)).toBe(false);
  });

  it('enumerates entities and exceptions along the path', () => {
    expect(m('rootcause.fault.entity { remote AND name = "payments.internal" }', checkout)).toBe(true);
    expect(m('rootcause.fault.entity { first AND name = "orders-api" AND !remote }', checkout)).toBe(true);
    expect(m('rootcause.fault.entity { last AND name = "DynamoDB" }', checkout)).toBe(true);
    expect(m('rootcause.fault.exception { first AND name = "Error" }', checkout)).toBe(true);
    expect(m('rootcause.fault.exception { last AND message CONTAINS "Internal" }', checkout)).toBe(true);
    expect(m('rootcause.fault.exception { last AND name = "Error" }', checkout)).toBe(false);
  });

  it('has no fault root cause without a fault, and finds handled errors', () => {
    expect(m('rootcause.fault.service', handled)).toBe(false);
    expect(m('rootcause.error.service { last AND name = "search" }', handled)).toBe(true);
    expect(m('rootcause.error.service { last AND name = "DynamoDB" AND inferred }', handled)).toBe(true);
    expect(m('rootcause.error.service { last AND name = "web" }', handled)).toBe(false);
    expect(m('rootcause.error.service', checkout)).toBe(false);
  });

  it('blames a fault on its own segment when no callee faults', () => {
    const own = [root({ fault: true, subsegments: [{ id: '1000000000000004', name: 'db', namespace: 'remote', start_time: T0, end_time: T0 + 0.01 }] })];
    expect(m('rootcause.fault.service { last AND name = "svc" AND !inferred }', own)).toBe(true);
    expect(m('rootcause.fault.entity { last AND name = "svc" }', own)).toBe(true);
  });

  it('follows response time into callees that take at least half of their caller', () => {
    // orders-api 0.4 → payments.internal 0.34 → payments 0.32 → DynamoDB 0.30 (audit is 0.15 of it)
    expect(m('rootcause.responsetime.service { last AND type = "AWS::DynamoDB::Table" }', checkout)).toBe(true);
    expect(m('rootcause.responsetime.service { name = "payments" }', checkout)).toBe(true);
    expect(m('rootcause.responsetime.entity { name = "DynamoDB" AND coverage > 0.7 }', checkout)).toBe(true);
    expect(m('rootcause.responsetime.entity { name = "DynamoDB" AND coverage > 0.8 }', checkout)).toBe(false);
    expect(m('rootcause.responsetime.entity { first AND coverage = 1 }', checkout)).toBe(true);
    expect(m('rootcause.responsetime.entity { name = "## audit" }', checkout)).toBe(false);
  });

  it('keeps response time on the segment when no callee takes half of it', () => {
    const own = [root({ subsegments: [{ id: '1000000000000004', name: 'db', namespace: 'remote', start_time: T0, end_time: T0 + 0.04 }] })];
    expect(m('rootcause.responsetime.service { last AND name = "svc" }', own)).toBe(true);
    expect(m('rootcause.responsetime.entity { name = "db" }', own)).toBe(false);
  });
});
