/**
 * `npm run soak -- --minutes 30`: does trace-insights keep its state bounded under steady traffic?
 *
 * Starts the product as `npm start` runs it (doors + worker in one process, trace store on in a
 * PostgreSQL schema of its own) against a private redis-server, subscribes a webhook receiver, and sends
 * the simulated shop's traffic to PutTraceSegments at wall-clock pace with a payment API fault every 10
 * minutes. Every minute it prints the product's RSS, Redis' used_memory and key count; at the end it
 * fails (exit 1) if any of them grew more than 10 % from minute 10 to the end.
 *
 * Scaled down: windows of 10 s and every retention at 5 minutes (aggregates, de-duplication, markers,
 * insights, webhook logs), so that Redis must reach its steady state within the first 10 minutes. What
 * it checks is that state is bounded (everything expires or is trimmed; no leak), not the footprint of
 * a production retention.
 *
 * Options: --minutes <n> (30), --rate <client requests/s> (25), --sampling all|xray (all), --seed <n> (1),
 * --first-incident <minute> (5), --no-traces (trace store off).
 */
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { startServerProcess, type ServerProcess } from '../demo/server-process.js';
import { startReceiver, type Receiver } from '../demo/receiver.js';
import { makeSay } from '../demo/output.js';
import { startSoakRedis, type SoakRedis } from './private-redis.js';
import { INCIDENT_TARGET, WallClockSender, soakScenario } from './traffic.js';
import { census, judge, readRedis, readRss, type KindTally, type Reading } from './readings.js';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    rate: { type: 'string', default: '25' },
    sampling: { type: 'string', default: 'all' },
    seed: { type: 'string', default: '1' },
    'first-incident': { type: 'string', default: '5' },
    'no-traces': { type: 'boolean', default: false },
  },
});
const MINUTES = Number(args.minutes);
const RATE = Number(args.rate);
const SAMPLING = args.sampling === 'xray' ? 'xray' : 'all';
const FIRST_INCIDENT_MIN = Number(args['first-incident']);
const TRACES = !args['no-traces'];
if (!(MINUTES >= 1) || !(RATE > 0) || !(FIRST_INCIDENT_MIN >= 0)) {
  console.error('usage: npm run soak -- [--minutes 30] [--rate 25] [--sampling all|xray] [--seed 1] [--first-incident 5] [--no-traces]');
  process.exit(2);
}

/** The check: from this minute to the end, at most this much growth, in runs at least this long. */
const FROM_MINUTE = 10;
const LIMIT_PCT = 10;
const MIN_MINUTES = 15;

const WINDOW = 10;
/** Every retention of the scaled-down run. */
const RETAIN = 300;
const INCIDENT_EVERY = 600;
const INCIDENT_SECONDS = 120;
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const say = makeSay(Date.now());
const mb = (b: number) => `${(b / 1048576).toFixed(1)} MB`;
const pct = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${x.toFixed(1)} %` : '+∞');

let redis: SoakRedis | undefined;
let reader: Redis | undefined;
let server: ServerProcess | undefined;
let sender: WallClockSender | undefined;
let receiver: Receiver | undefined;
let configFile: string | undefined;
const schema = `soak_${randomBytes(4).toString('hex')}`;

async function cleanUp(): Promise<void> {
  const step = async (what: string, f: () => Promise<unknown>) => {
    try {
      await f();
    } catch (err) {
      say(`clean-up: ${what} failed: ${(err as Error).message}`);
    }
  };
  await step('stopping the traffic', async () => sender?.stop());
  await step('stopping trace-insights', async () => server?.stop());
  await step('closing the webhook receiver', async () => receiver?.close());
  reader?.disconnect();
  // the private Redis holds only the soak's keys: stopping it drops them all
  await step('stopping the private Redis', async () => redis?.stop());
  if (TRACES) {
    await step(`dropping the schema ${schema}`, async () => {
      const sql = postgres(DATABASE_URL, { max: 1, onnotice: () => undefined, connect_timeout: 5 });
      try {
        await sql.unsafe(`drop schema if exists "${schema}" cascade`);
      } finally {
        await sql.end();
      }
    });
  }
  if (configFile) rmSync(configFile, { force: true });
}

/** Insight ids seen so far, and how many are active now (GetInsightSummaries; expired ones stay counted). */
async function pollInsights(baseUrl: string, since: number, seen: Set<string>): Promise<number> {
  const res = await fetch(`${baseUrl}/InsightSummaries`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ StartTime: since - 60, EndTime: Date.now() / 1000 + 60 }),
  });
  if (!res.ok) return -1;
  const { InsightSummaries } = (await res.json()) as { InsightSummaries: Array<{ InsightId: string; State: string }> };
  for (const s of InsightSummaries) seen.add(s.InsightId);
  return InsightSummaries.filter((s) => s.State === 'ACTIVE').length;
}

function printCensus(label: string, before: Map<string, KindTally> | undefined, after: Map<string, KindTally>): void {
  const kinds = [...new Set([...(before?.keys() ?? []), ...after.keys()])];
  const rows = kinds
    .map((k) => ({ k, b: before?.get(k) ?? { keys: 0, bytes: 0 }, a: after.get(k) ?? { keys: 0, bytes: 0 } }))
    .sort((x, y) => y.a.bytes - y.b.bytes - (x.a.bytes - x.b.bytes) || y.a.bytes - x.a.bytes);
  console.log(`  Redis keys by kind (${label}; MEMORY USAGE, largest change first):`);
  for (const { k, b, a } of rows.slice(0, 14)) {
    const keys = before ? `${String(b.keys).padStart(6)} → ${String(a.keys).padEnd(6)}` : String(a.keys).padStart(6);
    const bytes = before ? `${(b.bytes / 1024).toFixed(0).padStart(7)} → ${(a.bytes / 1024).toFixed(0).padEnd(7)} kB` : `${(a.bytes / 1024).toFixed(0).padStart(7)} kB`;
    console.log(`    ${k.padEnd(34)} keys ${keys}  ${bytes}`);
  }
  if (rows.length > 14) console.log(`    … ${rows.length - 14} more kinds`);
}

async function main(): Promise<number> {
  console.log(`trace-insights soak: ${MINUTES} min of steady traffic, a fault on ${INCIDENT_TARGET} every ${INCIDENT_EVERY / 60} min`);
  console.log(`  What it checks: bounded state, no leak. Scaled down: ${WINDOW}-s windows and every retention at ${RETAIN / 60} min`);
  console.log(`  (aggregates, de-duplication, markers, insights, webhook logs), so Redis reaches its steady state within`);
  console.log(`  ${FROM_MINUTE} minutes; then the product's RSS, Redis used_memory and keys must not grow more than ${LIMIT_PCT} %`);
  console.log(`  from minute ${FROM_MINUTE} to the end (judged on runs of ${MIN_MINUTES} minutes or more).`);
  const sampling = SAMPLING === 'all' ? 'every request traced' : 'sampled as the X-Ray SDKs do (1/s + 5 %)';
  console.log(`  Traffic: the simulated shop (4 services, DynamoDB, the payment API), ${RATE} client requests/s, ${sampling}.\n`);

  redis = await startSoakRedis();
  reader = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  say(`private redis-server at ${redis.url} (no persistence, noeviction): used_memory and DBSIZE are the soak's own`);

  configFile = join(tmpdir(), `ti-soak-${randomBytes(4).toString('hex')}.json`);
  // the webhook log's retention has no environment variable
  writeFileSync(configFile, JSON.stringify({ webhooks: { logRetentionSeconds: RETAIN } }));
  const apiKey = randomBytes(24).toString('hex');
  let complaints = 0;
  server = await startServerProcess(
    {
      REDIS_URL: redis.url,
      KEY_PREFIX: 'soak',
      WINDOW_SECONDS: String(WINDOW),
      ALLOWED_LATENESS_SECONDS: '2',
      CLOSE_TICK_SECONDS: '1',
      CLOSE_IDLE_SECONDS: '3',
      RETENTION_SECONDS: String(RETAIN),
      DEDUPE_TTL_SECONDS: String(RETAIN),
      MARKER_TTL_SECONDS: String(RETAIN),
      INSIGHTS_RETENTION_SECONDS: String(RETAIN),
      // the detector's history fits in the retention
      DETECT_HISTORY_WINDOWS: String(Math.floor((RETAIN * 0.8) / WINDOW)),
      DETECT_MIN_HISTORY_WINDOWS: '3',
      TRACES_ENABLED: String(TRACES),
      DATABASE_URL,
      TRACE_SCHEMA: schema,
      API_KEYS: apiKey,
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    },
    (rec) => {
      // a few warnings are worth seeing; a flood is not
      if (rec.level >= 40 && complaints++ < 20) say(`trace-insights ${rec.level >= 50 ? 'error' : 'warning'}: ${rec.msg}${rec.err ? ` (${JSON.stringify(rec.err)})` : ''}`);
    },
    ['--config', configFile],
  );
  const pid = server.child.pid!;
  say(`trace-insights (start: doors + worker) is up, pid ${pid}, at ${server.baseUrl}${TRACES ? `; trace store in schema ${schema}` : '; trace store off'}`);

  let deliveries = 0;
  receiver = await startReceiver(
    () => deliveries++,
    () => undefined,
  );
  const sub = await fetch(`${server.baseUrl}/v1/webhooks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url: receiver.url, description: 'npm run soak' }),
  });
  if (sub.status !== 201) throw new Error(`POST /v1/webhooks answered ${sub.status}`);
  receiver.setSecret(((await sub.json()) as { secret: string }).secret);

  const t0 = Date.now() / 1000;
  sender = new WallClockSender(
    server.baseUrl,
    soakScenario({
      seed: Number(args.seed),
      start: t0,
      rate: RATE,
      sampling: SAMPLING,
      incidentEverySeconds: INCIDENT_EVERY,
      incidentSeconds: INCIDENT_SECONDS,
      firstIncidentAfterSeconds: FIRST_INCIDENT_MIN * 60,
      incidentMagnitude: 0.3,
      incidents: Math.ceil(MINUTES / (INCIDENT_EVERY / 60)) + 1,
    }),
  );
  sender.start();
  const schedule: string[] = [];
  for (let m = FIRST_INCIDENT_MIN; m < MINUTES; m += INCIDENT_EVERY / 60) schedule.push(`${m}–${m + INCIDENT_SECONDS / 60}`);
  say(`traffic started; ${INCIDENT_TARGET} fails 30 % more of its calls in minutes ${schedule.join(', ') || '(none in this run)'}; webhook subscribed`);
  console.log('\n  min      RSS   used_memory     keys   docs sent   accepted  throttled  insights (active)  webhooks  lag');

  const readings: Reading[] = [];
  const insightIds = new Set<string>();
  let atFrom: Map<string, KindTally> | undefined;
  for (let minute = 1; minute <= MINUTES; minute++) {
    await new Promise((r) => setTimeout(r, Math.max(0, (t0 + minute * 60) * 1000 - Date.now())));
    if (server.child.exitCode !== null || server.child.signalCode !== null) {
      say(`trace-insights exited (${server.child.exitCode ?? server.child.signalCode}):\n${server.tail()}`);
      return 1;
    }
    const rssBytes = readRss(pid);
    const { usedMemory, keys } = await readRedis(reader);
    const active = await pollInsights(server.baseUrl, t0, insightIds).catch(() => -1);
    readings.push({ minute, rssBytes, usedMemory, keys });
    const s = sender.stats;
    console.log(
      `  ${String(minute).padStart(3)} ${mb(rssBytes).padStart(10)} ${mb(usedMemory).padStart(13)} ${String(keys).padStart(8)} ${String(s.sent).padStart(11)} ${String(s.accepted).padStart(10)} ${String(s.throttled).padStart(10)} ${String(insightIds.size).padStart(9)} (${active < 0 ? '?' : active})${' '.repeat(6)}${String(deliveries).padStart(9)} ${s.lagSeconds.toFixed(1).padStart(4)} s`,
    );
    if (minute === FROM_MINUTE) atFrom = await census(reader);
  }

  const last = readings[readings.length - 1]!;
  const from = readings.find((r) => r.minute === FROM_MINUTE);
  const verdict = judge(readings, { fromMinute: FROM_MINUTE, minMinutes: MIN_MINUTES, limitPct: LIMIT_PCT });
  const s = sender.stats;
  console.log('');
  say('Result');
  console.log(`  documents: ${s.sent} sent, ${s.accepted} accepted, ${s.throttled} throttled, ${s.failedCalls} failed calls; insights opened: ${insightIds.size}; webhook deliveries: ${deliveries}`);
  printCensus(atFrom ? `minute ${FROM_MINUTE} → minute ${last.minute}` : `minute ${last.minute}`, atFrom, await census(reader));
  if (from) {
    console.log(`                      minute ${String(FROM_MINUTE).padEnd(6)} minute ${String(last.minute).padEnd(6)} growth`);
    console.log(`  RSS              ${mb(from.rssBytes).padStart(10)} ${mb(last.rssBytes).padStart(13)}   ${pct(verdict.growth.rss)}`);
    console.log(`  used_memory      ${mb(from.usedMemory).padStart(10)} ${mb(last.usedMemory).padStart(13)}   ${pct(verdict.growth.usedMemory)}`);
    console.log(`  keys             ${String(from.keys).padStart(10)} ${String(last.keys).padStart(13)}   ${pct(verdict.growth.keys)}`);
  }
  if (!verdict.meaningful) {
    console.log(`\n  ${MINUTES} minutes is too short for the check to mean anything (it needs ${MIN_MINUTES}: state settles in the first ${FROM_MINUTE}); not judged.`);
    return 0;
  }
  if (verdict.ok) console.log(`\n  PASS: RSS, used_memory and keys grew at most ${LIMIT_PCT} % from minute ${FROM_MINUTE} to minute ${last.minute}: state is bounded.`);
  else console.log(`\n  FAIL: ${verdict.grew.map((g) => ({ rss: 'RSS', usedMemory: 'used_memory', keys: 'keys' })[g]).join(', ')} grew more than ${LIMIT_PCT} % from minute ${FROM_MINUTE} to minute ${last.minute} (see the key census above).`);
  return verdict.ok ? 0 : 1;
}

let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) return;
  interrupted = true;
  say('interrupted: cleaning up');
  void cleanUp().then(() => process.exit(130));
});

main()
  .then(async (code) => {
    say('stopping trace-insights, the private Redis and the receiver; dropping the schema…');
    await cleanUp();
    process.exit(code);
  })
  .catch(async (err: Error) => {
    console.error(`soak failed: ${err.message}`);
    await cleanUp().catch(() => undefined);
    process.exit(1);
  });
