/**
 * `npm run bench:replay` — one hour of event time at 200 requests/s, every request sampled (the shop
 * scenario, ≈ 2.8M segment documents), replayed the way a user runs it:
 *   node bin/trace-insights.js replay --out EVENTS FILE
 * and, in the same run, the ingest path (HTTP door → BullMQ → worker → Redis, bench/end-to-end.ts) on a
 * corpus of the same kind of documents, for the ratio. Target: the replay takes ≤ 60 s.
 *
 *   npm run bench:replay                         # 1 h at 200 req/s
 *   npm run bench:replay -- --hours 0.25         # quick
 *   npm run bench:replay -- --ingest-segments 0  # skip the ingest comparison
 *
 * The generated file is kept under .tmp/ (git-ignored) and reused by later runs with the same settings.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { simulate } from '../src/sim/simulate.js';
import { writeSimulation } from '../src/sim/write.js';
import { buildCorpus } from './corpus.js';
import { runEndToEnd } from './end-to-end.js';
import { dropPrefix } from './redis-footprint.js';
import { killAll } from './children.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const { values } = parseArgs({
  options: {
    hours: { type: 'string', default: '1' },
    rate: { type: 'string', default: '200' },
    workers: { type: 'string' },
    'ingest-segments': { type: 'string', default: '300000' },
    'redis-url': { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
  },
});
const hours = Number(values.hours);
const rate = Number(values.rate);
const ingestSegments = Number(values['ingest-segments']);
const redisUrl = values['redis-url']!;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function main(): Promise<number> {
  const cores = availableParallelism();
  console.log(`trace-insights replay benchmark — node ${process.version}, ${cores} cores, redis ${redisUrl}`);
  const file = join(root, '.tmp', 'bench-replay', `shop-${hours}h-${rate}rps-all.ndjson.gz`);
  let documents: number;
  if (existsSync(file) && existsSync(`${file}.docs`)) {
    documents = Number(readFileSync(`${file}.docs`, 'utf8'));
    console.log(`input: ${file} (${(statSync(file).size / 1048576).toFixed(0)} MB, ${fmt(documents)} documents; generated earlier)`);
  } else {
    const t = performance.now();
    const sim = simulate('shop', { hours, rate, sampling: { reservoir: 0, rate: 1 } });
    const w = await writeSimulation(sim, { out: file });
    documents = sim.stats.documents;
    await import('node:fs/promises').then((fs) => fs.writeFile(`${file}.docs`, String(documents)));
    console.log(`input: generated ${file} — ${fmt(documents)} documents, ${(statSync(file).size / 1048576).toFixed(0)} MB in ${((performance.now() - t) / 1000).toFixed(1)} s (not timed); ${JSON.stringify(w.out)}`);
  }

  // 1. The replay, as a user runs it.
  const dir = mkdtempSync(join(tmpdir(), 'ti-bench-replay-'));
  const events = join(dir, 'events.ndjson');
  const args = ['bin/trace-insights.js', 'replay', '--out', events, ...(values.workers ? ['--workers', values.workers] : []), file];
  console.log(`replay: node ${args.join(' ')}`);
  const t0 = performance.now();
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, REDIS_URL: redisUrl }, stdio: ['ignore', 'inherit', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (b: Buffer) => (err += b.toString('utf8')));
    child.once('exit', (c) => resolve({ code: c, stderr: err }));
  });
  const replaySeconds = (performance.now() - t0) / 1000;
  const line = stderr.split('\n').find((l) => l.startsWith('replay:')) ?? stderr.trim();
  console.log(`  ${line}`);
  if (code !== 0) {
    console.log(`replay failed (exit ${code}):\n${stderr}`);
    return 1;
  }
  const replayRate = documents / replaySeconds;
  const eventLines = readFileSync(events, 'utf8').split('\n').filter(Boolean).length;
  rmSync(dir, { recursive: true, force: true });
  console.log(`replay: ${fmt(documents)} documents in ${replaySeconds.toFixed(1)} s wall (process start to exit) = ${fmt(replayRate)} segments/s; ${eventLines} insight events`);

  // 2. The ingest path on the same kind of documents, in the same run.
  let ingestRate: number | undefined;
  if (ingestSegments > 0) {
    const prefix = `bench-rp-${randomBytes(4).toString('hex')}`;
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
    try {
      const corpus = buildCorpus({ seed: 42, rate: 500, startTime: 1_700_000_040, windowSeconds: 60, docsPerRequest: 200, segments: ingestSegments });
      const e2e = await runEndToEnd(corpus, undefined, {
        redisUrl,
        prefix,
        windowSeconds: 60,
        workerConcurrency: 4,
        batchMaxSegments: 500,
        httpConcurrency: 16,
        cores,
        log: () => undefined,
      });
      ingestRate = e2e.perSecond;
      console.log(`ingest (HTTP door → BullMQ → worker → Redis, ${fmt(corpus.expected.segments)} segments): ${fmt(ingestRate)} segments/s`);
    } finally {
      await killAll();
      await dropPrefix(redis, prefix);
      redis.disconnect();
    }
  }

  console.log('');
  console.log('summary');
  console.log(`  replay of ${hours} h at ${rate} req/s   ${fmt(documents)} segments in ${replaySeconds.toFixed(1)} s   ${replaySeconds <= 60 * hours ? 'PASS' : 'MISS'} (target ≤ ${60 * hours} s)`);
  console.log(`  replay rate                   ${fmt(replayRate)} segments/s`);
  if (ingestRate) console.log(`  ingest rate                   ${fmt(ingestRate)} segments/s   replay/ingest = ${(replayRate / ingestRate).toFixed(2)}`);
  return 0;
}

main().then(
  (c) => process.exit(c),
  async (err) => {
    console.error(err);
    await killAll();
    process.exit(1);
  },
);
