/**
 * `npm run bench:traces` — what the trace store costs and how fast it answers, each figure printed next
 * to a baseline or goal measured or stated in the same run (nothing is asserted):
 *   1. ingest documents/s through PutTraceSegments with the trace store off and on, alternating on the
 *      same corpus (on: also until PostgreSQL holds every document); goal on/off ≥ 0.75×;
 *   2. PostgreSQL bytes per stored document next to the document's own JSON size;
 *   3. GetTraceSummaries latency (first page, through `trace-insights server`) for ten kinds of filter
 *      over traffic of 200 req/s written with writeDocuments; goal p99 ≤ 1 s for the selective ones.
 *      An hour at 200 req/s is ~2.7M documents, more than this bench's few minutes can write on a small
 *      machine, so by default the first --stored-minutes of it are stored and queried, and said so.
 *
 *   npm run bench:traces
 *   npm run bench:traces -- --stored-minutes 60        # the whole hour (long)
 *   npm run bench:traces -- --skip-ingest --explain    # only the store and the queries, with plans
 *
 * Every Redis key (prefix bench-traces-<id>) and PostgreSQL schema (bench_traces_<id>_*) it makes is
 * dropped at the end. Exits 1 only when something failed.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { z } from 'zod';
import { applyMigrations } from '../src/traces/store/migrations.js';
import { traceStore } from '../src/traces/store/store.js';
import { killAll, machineCpu } from './children.js';
import { buildCorpus } from './corpus.js';
import { dropPrefix } from './redis-footprint.js';
import { decorateRequest } from './trace-decorate.js';
import { storeHour, tableBytes } from './trace-hour.js';
import { runIngestAb, type IngestAb, type IngestRun } from './trace-ingest-ab.js';
import { explainFilter, FILTERS, percentile, startQueryServer, type FilterTiming } from './trace-queries.js';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const flag = z.union([z.boolean(), z.enum(['1', 'true', '0', 'false', ''])]).transform((v) => v === true || v === '1' || v === 'true');
const schema = z
  .object({
    /** segment documents per ingest run */
    segments: int(1000, 5_000_000).default(40_000),
    /** documents sent before each timed ingest run (a day earlier: windows of their own) */
    warmup: int(0, 1_000_000).default(5_000),
    /** rounds of (store off, store on) */
    rounds: int(1, 10).default(2),
    seed: int(0, 2 ** 31).default(42),
    /** requests/s of event time of the ingest corpus */
    ingestRate: int(1, 100_000).default(500),
    /** requests (traces)/s of the stored traffic */
    hourRate: int(1, 10_000).default(200),
    /** minutes of that traffic stored and queried (60 = the whole hour) */
    storedMinutes: int(1, 60).default(10),
    /** timed GetTraceSummaries calls per filter, after one warm-up call */
    calls: int(2, 100).default(6),
    /** a filter is called no more once its calls took this long (seconds); at least two timed calls */
    filterBudget: int(1, 600).default(6),
    /** before each ingest run, wait up to this long for the machine to be quiet (seconds) */
    quietWait: int(0, 600).default(5),
    /** print EXPLAIN ANALYZE of the selective filters even when they meet the goal */
    explain: flag.default(false),
    skipIngest: flag.default(false),
    skipQueries: flag.default(false),
    redisUrl: z.string().url().default('redis://127.0.0.1:6379'),
    databaseUrl: z.string().default('postgres://postgres@127.0.0.1:5432/postgres'),
  })
  .strict();
type Options = z.infer<typeof schema>;
const FLAGS: Record<string, keyof Options> = {
  segments: 'segments', warmup: 'warmup', rounds: 'rounds', seed: 'seed', 'ingest-rate': 'ingestRate', 'hour-rate': 'hourRate',
  'stored-minutes': 'storedMinutes', calls: 'calls', 'filter-budget': 'filterBudget', 'quiet-wait': 'quietWait', explain: 'explain',
  'skip-ingest': 'skipIngest', 'skip-queries': 'skipQueries', redis: 'redisUrl', database: 'databaseUrl',
};
const BOOLEAN = new Set(['explain', 'skip-ingest', 'skip-queries']);

function parseOptions(argv: string[], env: NodeJS.ProcessEnv): Options {
  const raw: Record<string, unknown> = {};
  for (const [f, key] of Object.entries(FLAGS)) {
    const v = env[`BENCH_${f.toUpperCase().replaceAll('-', '_')}`];
    if (v !== undefined && v !== '') raw[key] = v;
  }
  if (env.REDIS_URL) raw.redisUrl = env.REDIS_URL;
  if (env.DATABASE_URL) raw.databaseUrl = env.DATABASE_URL;
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]!);
    const key = m && FLAGS[m[1]!];
    if (!m || !key) throw new Error(`unknown argument ${argv[i]}; flags: ${Object.keys(FLAGS).map((f) => `--${f}`).join(' ')}`);
    raw[key] = m[2] ?? (BOOLEAN.has(m[1]!) ? true : argv[++i]);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new Error(`bench option ${parsed.error.issues[0]!.path.join('.')}: ${parsed.error.issues[0]!.message}`);
  return parsed.data;
}

const log = (line: string) => console.log(line);
const fmt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2), process.env);
  const runId = randomBytes(3).toString('hex');
  const cores = availableParallelism();
  const redis = new Redis(opts.redisUrl, { maxRetriesPerRequest: null });
  const sql = postgres(opts.databaseUrl, { max: 4, onnotice: () => undefined });
  const made: IngestAb = { runs: [], schemas: [], prefixes: [] };
  const hourSchema = `bench_traces_${runId}_hour`;
  const queryPrefix = `bench-traces-${runId}-query`;
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    await killAll();
    for (const s of [...made.schemas, hourSchema]) await sql.unsafe(`drop schema if exists "${s}" cascade`);
    let keys = 0;
    for (const p of [...made.prefixes, queryPrefix]) keys += await dropPrefix(redis, p);
    log(`cleanup: dropped schemas ${[...made.schemas, hourSchema].join(', ')}; deleted ${keys} Redis keys of bench-traces-${runId}-*`);
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void cleanup().finally(() => process.exit(130)));

  const t0 = Date.now();
  let ingest: IngestRun[] = [];
  let sizes: { documents: number; traces: number; docs: number; traceCount: number; jsonBytes: number } | undefined;
  let timings: FilterTiming[] = [];
  let hour: Awaited<ReturnType<typeof storeHour>> | undefined;
  try {
    const [{ v }] = (await sql`select current_setting('server_version') as v`) as unknown as [{ v: string }];
    log(`trace-insights trace-store benchmark — node ${process.version}, ${cores} cores, PostgreSQL ${v}, run ${runId}`);
    log(`command: npm run bench:traces -- ${process.argv.slice(2).join(' ')}`.trimEnd());
    log(`settings: ${JSON.stringify(opts)}`);

    // 1. Ingest, store off vs on. Event time an hour ago: inside the store's retention, not in the future.
    if (!opts.skipIngest) {
      const start = Math.floor(Date.now() / 1000 / 60) * 60 - 3600;
      const corpusOpts = { seed: opts.seed, rate: opts.ingestRate, windowSeconds: 60, docsPerRequest: 200, decorate: decorateRequest };
      const corpus = buildCorpus({ ...corpusOpts, startTime: start, segments: opts.segments });
      const warmup = buildCorpus({ ...corpusOpts, seed: opts.seed + 1, startTime: start - 86_400, segments: Math.max(1, opts.warmup) });
      log(`\n1. ingest: ${fmt(corpus.expected.segments)} documents (${fmt(corpus.docBytes / corpus.expected.segments)} B each) per run, ` +
        `${fmt(warmup.expected.segments)} warm-up; ${opts.rounds} rounds of store off/on, alternating`);
      ingest = await runIngestAb(corpus, warmup, sql, redis, {
        redisUrl: opts.redisUrl, databaseUrl: opts.databaseUrl, runId, rounds: opts.rounds, windowSeconds: 60, workerConcurrency: 4,
        batchMaxSegments: 1000, httpConcurrency: 16, cores, quietWait: opts.quietWait, log,
      }, made);
    }

    // 2 + 3. Traffic at 200 req/s written straight to a store, then its size, then filters over it.
    if (!opts.skipQueries) {
      const store = traceStore(sql, { schema: hourSchema, batchSize: 1000 });
      await applyMigrations(store);
      const start = Math.floor(Date.now() / 1000 / 3600) * 3600 - 3 * 3600;
      log(`\n2. storing ${opts.storedMinutes} min of ${opts.hourRate} req/s (starting ${new Date(start * 1000).toISOString()}) with writeDocuments, 4,000 documents a call, 2 calls in flight`);
      const m0 = machineCpu();
      const c0 = process.cpuUsage();
      hour = await storeHour(store, { seed: opts.seed, rate: opts.hourRate, start, seconds: opts.storedMinutes * 60, docsPerCall: 4000, concurrency: 2, log });
      const c1 = process.cpuUsage(c0);
      const rest = machineCpu().busy - m0.busy - (c1.user + c1.system) / 1e6;
      log(`  stored ${fmt(hour.traces)} traces, ${fmt(hour.documents)} documents in ${hour.writeSeconds.toFixed(1)} s (${fmt(hour.documents / hour.writeSeconds)} docs/s); ` +
        `cpu per document: this process (simulate, serialize, writeDocuments) ${fmt((c1.user + c1.system) / hour.documents)} µs, ` +
        `the rest of the machine (PostgreSQL, and any neighbours) ${fmt((1e6 * rest) / hour.documents)} µs`);
      // What autovacuum does to insert-only partitions as they grow (PostgreSQL ≥ 13 vacuums on inserts):
      // statistics for the planner, and a visibility map, without which counting a range reads the heap.
      const tv = Date.now();
      await sql.unsafe(`vacuum (analyze) "${hourSchema}".traces`);
      await sql.unsafe(`analyze "${hourSchema}".documents`);
      log(`  vacuum (analyze) traces, analyze documents: ${((Date.now() - tv) / 1000).toFixed(1)} s`);
      const documents = await tableBytes(sql, hourSchema, 'documents');
      const traces = await tableBytes(sql, hourSchema, 'traces');
      sizes = { documents, traces, docs: hour.documents, traceCount: hour.traces, jsonBytes: hour.docBytes };
      log(`  PostgreSQL: documents ${fmt(documents / 1048576)} MB, traces ${fmt(traces / 1048576)} MB (partitions, TOAST, indexes) = ` +
        `${fmt((documents + traces) / hour.documents)} B per document; the document JSON averages ${fmt(hour.docBytes / hour.documents)} B`);

      log(`\n3. GetTraceSummaries over [${hour.start}, ${hour.end}) (${opts.storedMinutes} min, ${fmt(hour.traces)} traces), first page, 1 warm-up + up to ${opts.calls} timed calls each`);
      const server = await startQueryServer({ redisUrl: opts.redisUrl, databaseUrl: opts.databaseUrl, schema: hourSchema, prefix: queryPrefix });
      try {
        timings = await server.time(FILTERS, { start: hour.start, end: hour.end, calls: opts.calls, budgetSeconds: opts.filterBudget });
        // A call whose page did not fill read the whole range: time it again over the first half, and
        // extrapolate what the other minutes of the hour would add at that slope.
        const span = hour.end - hour.start;
        const growing = timings.filter((t) => !t.more);
        if (span < 3600 && growing.length) {
          const half = await server.time(growing.map((t) => t.kind), { start: hour.start, end: hour.start + span / 2, calls: 3, budgetSeconds: opts.filterBudget });
          for (const h of half) {
            const t = timings.find((x) => x.kind === h.kind)!;
            const slope = Math.max(0, (percentile(t.ms, 0.5) - percentile(h.ms, 0.5)) / (span / 2));
            t.hourEstimate = { halfP50: percentile(h.ms, 0.5), p50: percentile(t.ms, 0.5) + slope * (3600 - span), p99: percentile(t.ms, 0.99) + slope * (3600 - span) };
          }
        }
      } finally {
        await server.stop();
      }
      for (const t of timings) {
        if (!t.kind.selective) continue;
        const missed = percentile(t.ms, 0.99) > 1000;
        if (!missed && !opts.explain) continue;
        log(`\n  ${t.kind.name}: ${missed ? 'misses' : 'meets'} the 1 s goal — ${t.kind.text(1)}`);
        for (const line of await explainFilter(store, t.kind.text(1), hour.start, hour.end)) log(`    ${line}`);
      }
    }

    printTable(opts, ingest, sizes, timings, hour);
    log(`\ntotal ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    return 0;
  } catch (err) {
    console.error(`\nbenchmark failed: ${(err as Error).stack ?? String(err)}`);
    return 1;
  } finally {
    await cleanup().catch((err) => console.error(`cleanup failed: ${(err as Error).message}`));
    redis.disconnect();
    await sql.end({ timeout: 5 });
  }
}

function printTable(opts: Options, ingest: IngestRun[], sizes: { documents: number; traces: number; docs: number; traceCount: number; jsonBytes: number } | undefined, timings: FilterTiming[], hour: { traces: number } | undefined): void {
  log('\n=== summary ===');
  log(`command: npm run bench:traces -- ${process.argv.slice(2).join(' ')}`.trimEnd());
  if (ingest.length) {
    // the rate over all rounds: total documents over total time, so a slow round weighs what it took
    const side = (s: 'on' | 'off', f: (r: IngestRun) => number | undefined) => {
      const rs = ingest.filter((r) => r.store === s);
      return (rs.length * opts.segments) / sum(rs.map((r) => opts.segments / f(r)!));
    };
    const off = side('off', (r) => r.appliedPerSecond);
    const on = side('on', (r) => r.appliedPerSecond);
    const stored = side('on', (r) => r.storedPerSecond);
    const per = (s: 'on' | 'off', f: (r: IngestRun) => number | undefined) => ingest.filter((r) => r.store === s).map((r) => fmt(f(r)!)).join(' / ');
    log(`ingest (docs/s, PutTraceSegments → applied counters; per round in brackets)`);
    log(`  store off                   ${fmt(off).padStart(8)}  (${per('off', (r) => r.appliedPerSecond)})   baseline`);
    log(`  store on, counters applied  ${fmt(on).padStart(8)}  (${per('on', (r) => r.appliedPerSecond)})   ${(on / off).toFixed(2)}× of off   goal ≥ 0.75×`);
    log(`  store on, all in PostgreSQL ${fmt(stored).padStart(8)}  (${per('on', (r) => r.storedPerSecond)})   ${(stored / off).toFixed(2)}× of off   goal ≥ 0.75×`);
    const rounds = [...new Set(ingest.map((r) => r.round))].map((round) => {
      const [a, b] = [ingest.find((r) => r.round === round && r.store === 'off')!, ingest.find((r) => r.round === round && r.store === 'on')!];
      return `round ${round} ${(b.appliedPerSecond / a.appliedPerSecond).toFixed(2)}× / ${(b.storedPerSecond! / a.appliedPerSecond).toFixed(2)}× (others busy ${a.busyBefore.toFixed(1)}, ${b.busyBefore.toFixed(1)} cores before)`;
    });
    log(`  on/off per round, applied / stored: ${rounds.join('; ')}`);
  }
  if (sizes) {
    log(`storage: ${fmt((sizes.documents + sizes.traces) / sizes.docs)} B per stored document in PostgreSQL ` +
      `(documents ${fmt(sizes.documents / sizes.docs)} + traces ${fmt(sizes.traces / sizes.docs)}; ${fmt((sizes.documents + sizes.traces) / sizes.traceCount)} B per trace) ` +
      `vs ${fmt(sizes.jsonBytes / sizes.docs)} B of document JSON (${((sizes.documents + sizes.traces) / sizes.jsonBytes).toFixed(2)}×)`);
  }
  if (timings.length && hour) {
    const partial = opts.storedMinutes < 60;
    log(`GetTraceSummaries, first page, ${fmt(hour.traces)} traces stored = ${opts.storedMinutes} min of ${opts.hourRate} req/s` +
      (partial ? ` (${((opts.storedMinutes / 60) * 100).toFixed(0)} % of the hour; "hour est." below)` : ''));
    log(`  ${'filter'.padEnd(24)} ${'n'.padStart(2)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'page'.padStart(4)} ${'processed'.padStart(9)}  ${partial ? `${'hour est. p50/p99'.padEnd(17)}  ` : ''}goal`);
    for (const t of timings) {
      const p50 = percentile(t.ms, 0.5);
      const p99 = percentile(t.ms, 0.99);
      const h = t.hourEstimate;
      const est = !partial ? '' : h ? `${fmt(h.p50)} / ${fmt(h.p99)}` : 'same (page full)';
      const goal = t.kind.selective ? `p99 ≤ 1,000 ms: ${p99 <= 1000 ? 'met' : 'MISSED'}${h ? `; hour est. ${h.p99 <= 1000 ? 'met' : 'missed'}` : ''}` : '';
      log(`  ${t.kind.name.padEnd(24)} ${String(t.ms.length).padStart(2)} ${fmt(p50).padStart(7)} ${fmt(p99).padStart(7)} ${String(t.returned).padStart(4)} ${fmt(t.processed).padStart(9)}  ${partial ? `${est.padEnd(17)}  ` : ''}${goal}`);
    }
    log(`  filters: ${timings.map((t) => `${t.kind.name}: ${t.kind.text(1) || '(none)'}`).join(' | ')}`);
    log(`  n = timed calls (p99 of so few is their maximum); page = summaries returned (100 = full); processed = TracesProcessedCount`);
    if (partial) {
      log(`  hour est.: a call whose page did not fill read the whole range; it was timed again over the first half (p50 ` +
        `${timings.filter((t) => t.hourEstimate).map((t) => `${t.kind.name} ${fmt(t.hourEstimate!.halfP50)} ms`).join(', ')}), and the ` +
        `growth per stored minute carried on to 60 min (linear; a full page costs about the same whatever the range)`);
    }
  }
}

process.exit(await main());
