/**
 * `npm run bench:ingest` — segments/s through HTTP door → BullMQ → worker → Redis, next to two floors
 * measured in the same run on the same documents: JSON.parse alone, and a bare BullMQ pipeline moving
 * the same jobs to a no-op processor. Also the worker's peak RSS and Redis bytes per service-window.
 *
 *   npm run bench:ingest                                  # 1M segments
 *   BENCH_SEGMENTS=100000 npm run bench:ingest            # quick
 *   npm run bench:ingest -- --segments 200000 --cpu-prof  # + CPU profiles of server and worker (.tmp/)
 *
 * Exits 0 whatever the figures (it is a benchmark); 1 when the totals do not match what was sent or
 * something crashed. Every key it creates is deleted at the end.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { parseOptions, usage, type BenchOptions } from './options.js';
import { buildCorpus, jsonParseRate, type Corpus } from './corpus.js';
import { runEndToEnd, type EndToEndResult } from './end-to-end.js';
import { buildJobs, runBare, type BareResult } from './bare-pipeline.js';
import { runHttpFloor, type HttpFloorResult } from './http-floor.js';
import { verifyTotals, type Verdict } from './applied.js';
import { dropPrefix, measureFootprint, type Footprint } from './redis-footprint.js';
import { formatProfile, mainProfileIn, summarizeProfile } from './cpu-profile.js';
import { killAll, waitForQuiet } from './children.js';
import { formatCpu, formatPerSegment } from './cpu-meter.js';
import { printSummary } from './summary.js';

const log = (line: string) => console.log(line);
const secs = (t0: bigint) => (Number(process.hrtime.bigint() - t0) / 1e9).toFixed(1);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const mb = (b: number | undefined) => (b === undefined ? '?' : `${(b / 1048576).toFixed(0)} MB`);

async function main(): Promise<number> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(usage());
    return 0;
  }
  const opts: BenchOptions = parseOptions(process.argv.slice(2), process.env);
  const cores = availableParallelism();
  const runId = randomBytes(4).toString('hex');
  const prefix = `bench-${runId}`;
  const barePrefix = `bench-${runId}-bare`;
  const redis = new Redis(opts.redisUrl, { maxRetriesPerRequest: null });
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    await killAll();
    const n = (await dropPrefix(redis, prefix)) + (await dropPrefix(redis, barePrefix));
    log(`cleanup: deleted ${fmt(n)} keys of ${prefix} and ${barePrefix}`);
  };
  const interrupted = (signal: string) => {
    log(`\n${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', () => interrupted('SIGINT'));
  process.once('SIGTERM', () => interrupted('SIGTERM'));

  try {
    const info = await redis.info('server');
    const redisVersion = /^redis_version:(\S+)/m.exec(info)?.[1] ?? '?';
    log(`trace-insights ingest benchmark — node ${process.version}, ${cores} cores, redis ${redisVersion} at ${opts.redisUrl}, prefix ${prefix}`);
    log(
      `settings: ${fmt(opts.segments)} segments, seed ${opts.seed}, ${opts.rate} req/s of event time, window ${opts.windowSeconds} s, ` +
        `${opts.docsPerRequest} docs/request, ${opts.httpConcurrency} requests in flight, WORKER_CONCURRENCY=${opts.workerConcurrency}, ` +
        `BATCH_MAX_SEGMENTS=${opts.batchMaxSegments}, warm-up ${fmt(opts.warmupSegments)} segments`,
    );

    // 1. Input, generated once and not timed.
    let t = process.hrtime.bigint();
    const corpusOpts = { seed: opts.seed, rate: opts.rate, startTime: opts.startTime, windowSeconds: opts.windowSeconds, docsPerRequest: opts.docsPerRequest };
    const corpus = buildCorpus({ ...corpusOpts, segments: opts.segments });
    // the warm-up is other traffic a week earlier: its windows are not the measured ones
    const warmup: Corpus | undefined = opts.warmupSegments
      ? buildCorpus({ ...corpusOpts, seed: opts.seed + 1, startTime: opts.startTime - 7 * 86400, segments: opts.warmupSegments })
      : undefined;
    log(
      `corpus: ${fmt(corpus.expected.segments)} segment documents (${fmt(corpus.docBytes / corpus.expected.segments)} B each) in ${fmt(corpus.bodies.length)} requests ` +
        `(${(corpus.bodyBytes / 1048576).toFixed(0)} MB), ${corpus.eventSeconds.toFixed(0)} s of event time in ${corpus.windows.length} windows; generated in ${secs(t)} s`,
    );

    const quiet = async (phase: string) => {
      if (!opts.quietWait) return;
      const q = await waitForQuiet(opts.quietWait);
      const note = q.busyCores >= 0.5 ? ` — still busy after ${q.waitedSeconds.toFixed(0)} s, going ahead; figures will be pessimistic` : '';
      log(`${phase}: machine busy ${q.busyCores.toFixed(2)} cores before start${note}`);
    };

    // 2. JSON.parse alone.
    await quiet('JSON.parse only');
    const parse = jsonParseRate(corpus.texts);
    log(`JSON.parse only: ${fmt(parse.perSecond)} segments/s (${(corpus.docBytes / parse.seconds / 1048576).toFixed(0)} MB/s, one core; others used ${parse.othersCores.toFixed(2)} cores meanwhile)`);

    // 3. HTTP alone: the same bodies to a server that reads them and answers without parsing.
    let http: HttpFloorResult | undefined;
    if (!opts.skipBare) {
      await quiet('HTTP only');
      http = await runHttpFloor(corpus, redis, { httpConcurrency: opts.httpConcurrency, cores });
      log(`HTTP only: ${fmt(http.perSecond)} segments/s (${http.seconds.toFixed(2)} s; server reads each body and answers, parses nothing)`);
      log(`  ${formatPerSegment(http.cpu, corpus.expected.segments)}`);
    }

    // 4. End to end.
    const profileDir = opts.cpuProf ? fileURLToPath(new URL(`../.tmp/bench-prof-${runId}`, import.meta.url)) : undefined;
    await quiet('end to end');
    log('end to end: starting `trace-insights server` and `trace-insights worker`');
    const e2e: EndToEndResult = await runEndToEnd(corpus, warmup, {
      redisUrl: opts.redisUrl,
      prefix,
      windowSeconds: opts.windowSeconds,
      workerConcurrency: opts.workerConcurrency,
      batchMaxSegments: opts.batchMaxSegments,
      httpConcurrency: opts.httpConcurrency,
      cores,
      profileDir,
      log,
    });
    // from the door's own metrics; should they be renamed, fall back to the configured size
    const fromDoor = e2e.batches.documents / e2e.batches.jobs;
    const meanBatch = Number.isFinite(fromDoor) && fromDoor > 0 ? fromDoor : opts.batchMaxSegments;
    log(
      `end to end: ${fmt(e2e.perSecond)} segments/s (${e2e.seconds.toFixed(2)} s); door acknowledged all after ${e2e.doorSeconds.toFixed(2)} s ` +
        `(${fmt(corpus.expected.segments / e2e.doorSeconds)} segments/s); request latency p50 ${e2e.load.p50Ms.toFixed(0)} ms, p99 ${e2e.load.p99Ms.toFixed(0)} ms; ` +
        `${fmt(e2e.batches.jobs)} jobs of ${meanBatch.toFixed(0)} docs on average; retries ${e2e.load.retries}, rejected ${e2e.load.rejected}`,
    );
    log(`  cpu during the run: ${formatCpu(e2e.cpu)}`);
    log(`  ${formatPerSegment(e2e.cpu, corpus.expected.segments)}`);
    log(`  queue afterwards: ${JSON.stringify(e2e.jobCounts)}`);

    const verdict: Verdict = await verifyTotals(redis, prefix, opts.windowSeconds, corpus.expected, corpus.windows);
    log(`totals: ${verdict.ok ? 'OK' : 'MISMATCH'} (${verdict.services} services, ${verdict.nodeWindows} service-windows, ${verdict.edgeWindows} edge-windows)`);
    for (const p of verdict.problems.slice(0, 20)) log(`  ${p}`);

    const footprint: Footprint = await measureFootprint(redis, prefix, new Set(corpus.windows));
    printFootprint(footprint, verdict);

    // 5. The bare pipeline: the same jobs, a no-op processor.
    let bare: BareResult | undefined;
    if (!opts.skipBare) {
      const size = opts.bareBatch || Math.max(1, Math.round(meanBatch));
      t = process.hrtime.bigint();
      const { jobs, segments } = buildJobs(corpus.texts, size, `bare-${runId}`);
      log(`bare pipeline: ${fmt(jobs.length)} jobs of ${size} docs built in ${secs(t)} s (not timed)`);
      await quiet('bare pipeline');
      bare = await runBare(jobs, segments, { redisUrl: opts.redisUrl, prefix: barePrefix, concurrency: opts.workerConcurrency, batchSize: size, cores });
      log(`bare pipeline: ${fmt(bare.perSecond)} segments/s (${bare.seconds.toFixed(2)} s, ${fmt(bare.jobs / bare.seconds)} jobs/s), no-op worker peak RSS ${mb(bare.workerPeakRss)}`);
      log(`  cpu during the run: ${formatCpu(bare.cpu)}`);
      log(`  ${formatPerSegment(bare.cpu, bare.segments)}`);
    }

    await cleanup();

    if (profileDir) {
      for (const role of ['server', 'worker']) {
        const file = mainProfileIn(`${profileDir}/${role}`);
        if (!file) log(`${role}: no profile written`);
        else log('\n' + formatProfile(role, summarizeProfile(file, opts.profTop, { fromUs: e2e.fromUs, toUs: e2e.toUs })));
      }
    }

    printSummary({ opts, corpus, parse, http, e2e, bare, verdict, footprint, meanBatch });
    return verdict.ok ? 0 : 1;
  } catch (err) {
    console.error(`\nbenchmark failed: ${(err as Error).stack ?? String(err)}`);
    return 1;
  } finally {
    await cleanup().catch((err) => console.error(`cleanup failed: ${(err as Error).message}`));
    redis.disconnect();
  }
}

function printFootprint(f: Footprint, v: Verdict): void {
  const per = (bytes: number, n: number) => (n ? fmt(bytes / n) : '-');
  log(`redis footprint (MEMORY USAGE … SAMPLES 0):`);
  log(`  node hashes     ${fmt(f.node.keys).padStart(7)} keys ${fmt(f.node.bytes).padStart(13)} B  ${per(f.node.bytes, f.node.keys)} B per service-window`);
  log(`  edge hashes     ${fmt(f.edge.keys).padStart(7)} keys ${fmt(f.edge.bytes).padStart(13)} B  ${per(f.edge.bytes, f.edge.keys)} B per edge-window`);
  log(`  :N/:E sets      ${fmt(f.sets.keys).padStart(7)} keys ${fmt(f.sets.bytes).padStart(13)} B`);
  log(`  links          ${fmt(f.links.keys).padStart(7)} keys ${fmt(f.links.bytes).padStart(13)} B`);
  const aggregate = f.node.bytes + f.edge.bytes + f.sets.bytes + f.links.bytes;
  log(`  aggregate total ${fmt(aggregate)} B over ${v.nodeWindows} service-windows = ${per(aggregate, f.node.keys)} B per service-window`);
  log(`  transient: seen sets ${fmt(f.seen.keys)} keys ${fmt(f.seen.bytes)} B; pending links ${fmt(f.pending.keys)} keys ${fmt(f.pending.bytes)} B; batch markers ${fmt(f.markers.keys)} keys ${fmt(f.markers.bytes)} B`);
  log(`  other (watermark, catalog, parking): ${fmt(f.other.keys)} keys ${fmt(f.other.bytes)} B; warm-up windows (excluded): ${fmt(f.excluded.keys)} keys ${fmt(f.excluded.bytes)} B`);
  log(`  BullMQ keys (retained jobs): ${fmt(f.bullmq.keys)} keys ${fmt(f.bullmq.bytes)} B`);
  if (f.sampleNode) log(`  largest node hash: ${f.sampleNode.fields} fields, encoding ${f.sampleNode.encoding}, ${fmt(f.sampleNode.bytes)} B (${f.sampleNode.key})`);
  log(`  server config: hash-max-listpack-entries ${f.hashMaxListpackEntries}, hash-max-listpack-value ${f.hashMaxListpackValue}`);
}

process.exit(await main());
