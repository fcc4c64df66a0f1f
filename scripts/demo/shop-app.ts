/**
 * The demo shop: four small HTTP services in one process, each traced by the official aws-xray-sdk-core
 * exactly as a real Node service would be, plus a load generator and two untraced dependencies.
 *
 *   client → storefront → OrderService → InventoryService → DynamoDB (an AWS call)
 *                                      → PaymentService  → api.payments.example.com (an external API)
 *
 * Every service's segment comes from the SDK's own middleware (`traceRequestResponseCycle`); calls between
 * services go over real HTTP through `captureHTTPs`, which adds the remote subsegment and the trace header.
 * The SDK sends everything as UDP datagrams to AWS_XRAY_DAEMON_ADDRESS (read once, at module load), that
 * is, to trace-insights. Host names are resolved to 127.0.0.1 by a private `lookup`, so each service is
 * called by a name of its own, as it would be in a real network.
 *
 * Control: JSON lines on stdin
 *   {"fault": {"target": "api.payments.example.com", "rate": 0.4}}   extra fault probability of a service or dependency
 *   {"clear": true}                                                   back to normal
 *   {"stop": true}                                                    stop the load, close, exit
 * Output: JSON lines on stdout: {"type":"ready"}, {"type":"traffic", …} every SHOP_REPORT_SECONDS,
 * {"type":"incident", …} when a command took effect.
 *
 * Environment: SHOP_RATE (client requests per second, default 20), SHOP_REPORT_SECONDS (default 10),
 * SHOP_SEED (default 1).
 */
import http from 'node:http';
import type { AddressInfo, LookupFunction } from 'node:net';
import readline from 'node:readline';
import AWSXRay from 'aws-xray-sdk-core';

const RATE = Number(process.env.SHOP_RATE ?? 20);
const REPORT_SECONDS = Number(process.env.SHOP_REPORT_SECONDS ?? 10);

// A small seeded generator: the same run of random choices for the same seed (timing still varies).
let seed = Number(process.env.SHOP_SEED ?? 1) >>> 0 || 1;
function random(): number {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
/** log-normal around a median, in ms */
const jitter = (medianMs: number, sigma = 0.35) => medianMs * Math.exp(sigma * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function emit(rec: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(rec) + '\n');
}

// The SDK talks about sampling and context; the demo's own output is what matters.
AWSXRay.setLogger({ debug: () => undefined, info: () => undefined, warn: () => undefined, error: (...a: unknown[]) => process.stderr.write(`xray-sdk: ${a.map(String).join(' ')}\n`) });
AWSXRay.enableManualMode();
// the middleware needs a default segment name; each service renames its own segments (see serve)
AWSXRay.middleware.setDefaultName('shop');
// Sample every request (the default rule keeps 1/s + 5 %: too little for a short demo), decided locally.
AWSXRay.middleware.disableCentralizedSampling();
AWSXRay.middleware.setSamplingRules({ version: 2, default: { fixed_target: 0, rate: 1 }, rules: [] });

/** Extra fault probability per service or dependency name: the incident knob. */
const extraFault = new Map<string, number>();
const BASE_FAULT: Record<string, number> = { 'api.payments.example.com': 0.01, DynamoDB: 0.002, storefront: 0.001, OrderService: 0.002, InventoryService: 0.001, PaymentService: 0.001 };
const fails = (name: string) => random() < 1 - (1 - (BASE_FAULT[name] ?? 0)) * (1 - (extraFault.get(name) ?? 0));

// every name the shop calls resolves to this machine
const ports = new Map<string, number>();
const lookup: LookupFunction = (_hostname, options, callback) => {
  if ((options as { all?: boolean }).all) (callback as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
};
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

const tracedHttp = AWSXRay.captureHTTPs(http, true);
const untracedHttp = AWSXRay.captureHTTPs(http, false);

type Parent = AWSXRay.Segment | AWSXRay.Subsegment;

/** A call through the SDK's HTTP capture: a `remote` subsegment named after the host. */
function call(module: typeof http, parent: Parent, host: string, path: string): Promise<number> {
  return new Promise((resolve) => {
    const options = { host, port: ports.get(host)!, path, method: 'POST', agent, lookup, XRaySegment: parent } as http.RequestOptions;
    const req = module.request(options, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(503));
    req.end();
  });
}

/** An AWS SDK call as the X-Ray SDK records it: an `aws` subsegment with the operation and table. */
async function dynamoGetItem(parent: Parent): Promise<boolean> {
  const sub = parent.addNewSubsegment('DynamoDB');
  sub.namespace = 'aws';
  sub.addAttribute('aws', { operation: 'GetItem', region: 'us-east-1', table_name: 'inventory', retries: 0, request_id: `req-${Math.floor(random() * 1e9)}` });
  await sleep(jitter(6));
  const failed = fails('DynamoDB');
  sub.addAttribute('http', { response: { status: failed ? 500 : 200 } });
  if (failed) sub.addFaultFlag();
  sub.close();
  return !failed;
}

interface ServiceDef {
  name: string;
  host: string;
  origin: string;
  ownMs: number;
  /** its calls, in order; a failed call (5xx) fails the request with 502 */
  work: (seg: AWSXRay.Segment) => Promise<boolean>;
}

const SERVICES: ServiceDef[] = [
  { name: 'storefront', host: 'storefront.shop.internal', origin: 'AWS::EC2::Instance', ownMs: 4, work: async (seg) => (await call(tracedHttp, seg, 'orders.shop.internal', '/orders')) < 500 },
  {
    name: 'OrderService',
    host: 'orders.shop.internal',
    origin: 'AWS::ECS::Container',
    ownMs: 12,
    work: async (seg) => (await call(tracedHttp, seg, 'inventory.shop.internal', '/stock')) < 500 && (await call(tracedHttp, seg, 'payments.shop.internal', '/charge')) < 500,
  },
  { name: 'InventoryService', host: 'inventory.shop.internal', origin: 'AWS::ECS::Container', ownMs: 5, work: (seg) => dynamoGetItem(seg) },
  { name: 'PaymentService', host: 'payments.shop.internal', origin: 'AWS::EC2::Instance', ownMs: 8, work: async (seg) => (await call(untracedHttp, seg, 'api.payments.example.com', '/v1/charges')) < 500 },
];

function serve(def: ServiceDef): http.Server {
  return http.createServer((req, res) => {
    req.resume();
    // The middleware names segments after one process-wide default; four services share this process,
    // so each renames its own segment (it is sent only when the response finishes).
    const seg = AWSXRay.middleware.traceRequestResponseCycle(req, res);
    seg.name = def.name;
    seg.origin = def.origin;
    void (async () => {
      let status = 200;
      await sleep(jitter(def.ownMs));
      if (fails(def.name)) {
        // its own code failed: an exception, and a 500
        seg.addError(new Error(`${def.name}: unexpected error`));
        status = 500;
      } else if (!(await def.work(seg))) status = 502; // a downstream failure passed up
      res.writeHead(status, { 'content-type': 'text/plain' }).end(String(status));
    })();
  });
}

/** The external payment API: not instrumented, seen only through PaymentService's subsegments. */
const paymentsApi = http.createServer((req, res) => {
  req.resume();
  void sleep(jitter(40, 0.3)).then(() => {
    const status = fails('api.payments.example.com') ? 503 : 200;
    res.writeHead(status, { 'content-type': 'application/json' }).end(status === 200 ? '{"status":"captured"}' : '{"error":"unavailable"}');
  });
});

function listen(s: http.Server): Promise<number> {
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port)));
}

const servers = [...SERVICES.map((d) => [d.host, serve(d)] as const), ['api.payments.example.com', paymentsApi] as const];

// traffic: the client's requests to the storefront (the client is not traced: requests enter here)
let sent = 0;
let window = { requests: 0, ok: 0, errors: 0, faults: 0, from: Date.now() };
let inFlight = 0;
let stopping = false;
function clientRequest(): void {
  inFlight++;
  const req = http.request({ host: 'storefront.shop.internal', port: ports.get('storefront.shop.internal')!, path: '/checkout', method: 'POST', agent, lookup }, (res) => {
    res.resume();
    res.on('end', () => {
      inFlight--;
      const s = res.statusCode ?? 0;
      window.requests++;
      if (s >= 500) window.faults++;
      else if (s >= 400) window.errors++;
      else window.ok++;
    });
  });
  req.on('error', () => {
    inFlight--;
    window.requests++;
    window.faults++;
  });
  req.end();
}

async function main(): Promise<void> {
  for (const [host, s] of servers) ports.set(host, await listen(s));
  const started = Date.now();
  emit({ type: 'ready', rate: RATE, services: SERVICES.map((s) => s.name), dependencies: ['DynamoDB', 'api.payments.example.com'] });
  const load = setInterval(() => {
    if (stopping) return;
    const due = Math.floor(((Date.now() - started) / 1000) * RATE);
    for (; sent < due; sent++) clientRequest();
  }, 20);
  const report = setInterval(() => {
    const now = Date.now();
    emit({ type: 'traffic', ...window, to: now });
    window = { requests: 0, ok: 0, errors: 0, faults: 0, from: now };
  }, REPORT_SECONDS * 1000);

  const stop = async () => {
    if (stopping) return;
    stopping = true;
    clearInterval(load);
    clearInterval(report);
    for (let i = 0; i < 100 && inFlight > 0; i++) await sleep(20);
    // the SDK's UDP sends are asynchronous: give the last datagrams a moment to leave
    await sleep(100);
    agent.destroy();
    for (const [, s] of servers) {
      s.closeAllConnections();
      s.close();
    }
    emit({ type: 'stopped', sent });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    let cmd: { fault?: { target: string; rate: number }; clear?: boolean; stop?: boolean };
    try {
      cmd = JSON.parse(line) as typeof cmd;
    } catch {
      process.stderr.write(`shop: not a JSON command: ${line}\n`);
      return;
    }
    if (cmd.fault) {
      extraFault.set(cmd.fault.target, cmd.fault.rate);
      emit({ type: 'incident', target: cmd.fault.target, rate: cmd.fault.rate, at: Date.now() / 1000 });
    }
    if (cmd.clear) {
      extraFault.clear();
      emit({ type: 'incident', target: null, rate: 0, at: Date.now() / 1000 });
    }
    if (cmd.stop) void stop();
  });
  // the parent went away: stop too
  rl.on('close', () => void stop());
}

main().catch((err) => {
  process.stderr.write(`shop failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
