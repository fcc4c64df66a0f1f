/**
 * `npm run demo`: an X-Ray Insights incident, live, in about four minutes.
 *
 * 1. trace-insights (`npm start`) with 10-second windows, in a key prefix of its own;
 * 2. the demo shop (shop-app.ts): four services traced by aws-xray-sdk-core, sending UDP datagrams;
 * 3. a webhook receiver subscribed through /v1/webhooks, verifying every delivery's signature.
 * After a baseline, the shop's external payment API starts failing; the insight opens naming it as the
 * root cause, is updated while the incident grows, and closes after the API recovers.
 *
 * Options: --rate <requests/s> (20), --baseline <s> (80), --incident <s> (60), --keep (leave everything
 * running at the end, until Ctrl-C), --poll (read the events from the X-Ray API, GetInsightSummaries and
 * GetInsightEvents, instead of subscribing a webhook).
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { connect } from '../../src/redis/connect.js';
import { dropNamespace } from '../../src/redis/namespace.js';
import { resolveRedis, type ResolvedRedis } from '../../src/redis/resolve.js';
import { startShop, type ShopProcess } from './shop-process.js';
import { startReceiver, type Receiver } from './receiver.js';
import { startServerProcess, type ServerProcess } from './server-process.js';
import { fromWebhook, pollInsightEvents, type SeenEvent } from './insight-feed.js';
import { describeEvent, describeImpactGraph, makeSay, tty } from './output.js';

const WINDOW = 10;
const ROOT_CAUSE = 'api.payments.example.com';

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '20' },
    baseline: { type: 'string', default: '80' },
    incident: { type: 'string', default: '60' },
    keep: { type: 'boolean', default: false },
    poll: { type: 'boolean', default: false },
  },
});
const RATE = Number(args.rate);
const BASELINE = Number(args.baseline);
const INCIDENT = Number(args.incident);

const say = makeSay(Date.now());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

let redis: ResolvedRedis | undefined;
let server: ServerProcess | undefined;
let shop: ShopProcess | undefined;
let receiver: Receiver | undefined;
let poller: { stop(): void } | undefined;
const prefix = `demo-${randomBytes(4).toString('hex')}`;

async function cleanUp(): Promise<void> {
  poller?.stop();
  await shop?.stop().catch(() => undefined);
  await server?.stop().catch(() => undefined);
  await receiver?.close().catch(() => undefined);
  if (redis) {
    // everything the demo wrote lives under its prefix
    const r = connect(redis.url, 'request');
    r.on('error', () => undefined);
    await dropNamespace(r, prefix).catch(() => undefined);
    r.disconnect();
  }
  await redis?.stop();
}

/** Subscribes the receiver to every insight event through the management API. */
async function subscribe(baseUrl: string, apiKey: string, url: string): Promise<{ ok: true; id: string; secret: string } | { ok: false; why: string }> {
  try {
    const res = await fetch(`${baseUrl}/v1/webhooks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url, description: 'npm run demo' }),
    });
    if (res.status !== 201) return { ok: false, why: `POST /v1/webhooks answered ${res.status}` };
    const sub = (await res.json()) as { id: string; secret: string };
    return { ok: true, id: sub.id, secret: sub.secret };
  } catch (err) {
    return { ok: false, why: (err as Error).message };
  }
}

/** Resolves with the first event that satisfies `pred`, from `events` seen so far or still to come. */
function waitForEvent(events: SeenEvent[], listeners: Array<() => void>, pred: (e: SeenEvent) => boolean, timeoutMs: number): Promise<SeenEvent | undefined> {
  return new Promise((resolve) => {
    const check = () => {
      const e = events.find(pred);
      if (e) {
        clearTimeout(timer);
        resolve(e);
        return true;
      }
      return false;
    };
    const timer = setTimeout(() => resolve(undefined), timeoutMs);
    // listeners are called once per event: one that is not satisfied yet listens again
    const listen = () => {
      if (!check()) listeners.push(listen);
    };
    listen();
  });
}

async function main(): Promise<number> {
  console.log(tty.bold('trace-insights demo: an X-Ray Insights incident, live'));
  console.log(`  1. trace-insights (what \`npm start\` runs) with ${WINDOW}-second windows`);
  console.log('  2. a shop: storefront → OrderService → InventoryService → DynamoDB');
  console.log(`                                    → PaymentService → ${ROOT_CAUSE} (external API)`);
  console.log('     each service traced by the official aws-xray-sdk-core, sending segments over UDP');
  console.log('  3. a webhook receiver that checks each delivery\'s signature and prints the insight events');
  console.log(`  Plan: ${BASELINE} s of normal traffic, then ${ROOT_CAUSE} fails half its calls for ${INCIDENT} s, then recovers.\n`);

  redis = await resolveRedis({ configured: process.env.REDIS_URL ?? null, fromEnv: Boolean(process.env.REDIS_URL), dataDir: '.data/redis' });
  say(`Redis: ${redis.url.replace(/\/\/[^@]*@/, '//***@')} (${redis.source}); everything goes under the key prefix ${prefix}`);
  const apiKey = randomBytes(24).toString('hex');
  server = await startServerProcess(
    {
      REDIS_URL: redis.url,
      KEY_PREFIX: prefix,
      WINDOW_SECONDS: String(WINDOW),
      ALLOWED_LATENESS_SECONDS: '2',
      CLOSE_TICK_SECONDS: '1',
      CLOSE_IDLE_SECONDS: '3',
      DETECT_MIN_HISTORY_WINDOWS: '3',
      API_KEYS: apiKey,
      // the receiver is on 127.0.0.1, which webhooks refuse by default
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    },
    (rec) => {
      if (rec.level >= 40) say(tty.dim(`trace-insights ${rec.level >= 50 ? 'error' : 'warning'}: ${rec.msg}${rec.err ? ` (${JSON.stringify(rec.err)})` : ''}`));
    },
  );
  say(`trace-insights is up: X-Ray API and webhooks at ${server.baseUrl}, segments on udp://127.0.0.1:${server.udpPort}`);
  const consoleUrl = `${server.baseUrl}/`;
  say(`the console (service map, insights, traces): ${consoleUrl}`);

  const events: SeenEvent[] = [];
  const listeners: Array<() => void> = [];
  const expected = { name: ROOT_CAUSE, type: 'remote' };
  const seen = (e: SeenEvent) => {
    events.push(e);
    describeEvent(e, expected).forEach((l, i) => (i === 0 ? say(l) : console.log(`        ${l}`)));
    if (e.type === 'insight.opened') console.log(`        in the console: ${consoleUrl}insights/${e.insightId}`);
    for (const f of listeners.splice(0)) f();
  };
  receiver = await startReceiver(
    (d) => seen(fromWebhook(d.event)),
    (why) => say(tty.dim(`webhook receiver refused a delivery: ${why}`)),
  );
  const subscribed = args.poll ? null : await subscribe(server.baseUrl, apiKey, receiver.url);
  if (subscribed?.ok) {
    receiver.setSecret(subscribed.secret);
    say(`webhook ${subscribed.id} → ${receiver.url} (Standard Webhooks signatures, secret ${subscribed.secret.slice(0, 10)}…)`);
  } else {
    say(subscribed ? `the webhook API is not available (${subscribed.why}); reading insight events from the X-Ray API instead` : 'reading insight events from the X-Ray API (GetInsightSummaries, GetInsightEvents) every 2 s');
    poller = pollInsightEvents(server.baseUrl, Date.now() / 1000, seen);
  }

  shop = await startShop({
    daemonAddress: `127.0.0.1:${server.udpPort}`,
    rate: RATE,
    reportSeconds: WINDOW,
    onMessage: (m) => {
      if (m.type !== 'traffic') return;
      const pct = m.requests ? ((100 * m.faults) / m.requests).toFixed(1) : '0.0';
      say(tty.dim(`traffic: ${m.requests} checkouts in the last ${WINDOW} s, ${m.faults} failed (${pct} %)`));
    },
  });
  const trafficStart = Date.now() / 1000;
  say(`the shop is taking ${RATE} checkouts/s; trace-insights learns what normal looks like for ${BASELINE} s…`);

  // start the incident just after a window boundary: its first window is all incident
  const surgeAt = (Math.floor((trafficStart + BASELINE) / WINDOW) + 1) * WINDOW + 0.2;
  await sleep((surgeAt - Date.now() / 1000) * 1000);
  const incident = await shop.fault(ROOT_CAUSE, 0.5);
  say(tty.bold(`INCIDENT: ${ROOT_CAUSE} now fails 50 % of charges; PaymentService, OrderService and the storefront pass the errors up`));
  say('waiting for trace-insights to notice (two anomalous windows open an insight)…');
  const opened = await waitForEvent(events, listeners, (e) => e.type === 'insight.opened' && e.eventTime >= incident.at - WINDOW, 90_000);
  if (!opened) {
    say(tty.bold('no insight opened within 90 s of the incident: something is wrong.'));
    console.log(server.tail());
    return 1;
  }
  const detectedAfter = Date.now() / 1000 - incident.at;
  await sleep((incident.at + INCIDENT - Date.now() / 1000) * 1000);
  const recovery = await shop.clear();
  say(tty.bold(`RECOVERED: ${ROOT_CAUSE} is healthy again; the insight closes after 3 normal windows`));
  const closed = await waitForEvent(events, listeners, (e) => e.type === 'insight.closed' && e.insightId === opened.insightId, 120_000);
  const closedAfter = Date.now() / 1000 - recovery.at;

  // the same insight through the X-Ray API, as the AWS SDKs and CLI read it
  const graph = (await (
    await fetch(`${server.baseUrl}/InsightImpactGraph`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ InsightId: opened.insightId, StartTime: opened.startTime, EndTime: (closed?.endTime ?? Date.now() / 1000) + WINDOW }),
    })
  ).json()) as { Services?: Array<{ ReferenceId: number; Name: string; Edges: Array<{ ReferenceId: number }> }> };
  console.log('');
  say(tty.bold('What happened'));
  const rootOk = opened.rootCause?.name === ROOT_CAUSE;
  console.log(`  detected:   ${detectedAfter.toFixed(0)} s after the fault began (windows of ${WINDOW} s)`);
  console.log(`  root cause: ${opened.rootCause?.name ?? 'none'} ${rootOk ? '✓ the service that really failed' : `✗ expected ${ROOT_CAUSE}`}`);
  console.log(`  updates:    ${events.filter((e) => e.insightId === opened.insightId && e.type === 'insight.updated').length} while the incident went on`);
  console.log(`  closed:     ${closed ? `${closedAfter.toFixed(0)} s after the recovery` : 'not within 120 s of the recovery'}`);
  console.log(`  impact graph (GetInsightImpactGraph): ${describeImpactGraph(graph.Services ?? [])}`);
  const t = (s: number) => new Date(s * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  if (!args.keep) console.log('\n  `npm run demo -- --keep` leaves it all running at this point, to read it back with the AWS CLI or SDKs.');
  else {
    console.log('\n  Read it back with the AWS CLI (any credentials will do):');
    console.log(`    aws xray get-insight-summaries --endpoint-url ${server.baseUrl} --region us-east-1 --start-time ${t(trafficStart - 60)} --end-time ${t(Date.now() / 1000 + 3600)}`);
    console.log(`    aws xray get-insight-events --endpoint-url ${server.baseUrl} --region us-east-1 --insight-id ${opened.insightId}`);
    console.log(`    aws xray get-service-graph --endpoint-url ${server.baseUrl} --region us-east-1 --start-time ${t(trafficStart)} --end-time ${t(Date.now() / 1000)}`);
    say(`still running (traffic continues) — API at ${server.baseUrl}; Ctrl-C stops everything and removes the demo's keys`);
    parked = true;
    await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  }
  return rootOk && closed ? 0 : 1;
}

let interrupted = false;
/** the demo is over and waits for Ctrl-C (--keep): that Ctrl-C ends it normally */
let parked = false;
process.on('SIGINT', () => {
  if (parked || interrupted) return;
  interrupted = true;
  say('interrupted: stopping');
  void cleanUp().then(() => process.exit(130));
});

main()
  .then(async (code) => {
    say('stopping the shop and trace-insights, removing the demo\'s keys…');
    await cleanUp();
    say(code === 0 ? 'done.' : 'done, with problems (see above).');
    process.exit(code);
  })
  .catch(async (err: Error) => {
    console.error(`demo failed: ${err.message}`);
    await cleanUp().catch(() => undefined);
    process.exit(1);
  });
