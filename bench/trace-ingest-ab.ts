import type { Redis } from 'ioredis';
import type { Sql } from 'postgres';
import { applyMigrations } from '../src/traces/store/migrations.js';
import { traceStore } from '../src/traces/store/store.js';
import type { Corpus } from './corpus.js';
import { waitForQuiet } from './children.js';
import { formatCpu } from './cpu-meter.js';
import { runEndToEnd } from './end-to-end.js';
import { dropPrefix } from './redis-footprint.js';

export interface IngestAbOptions {
  redisUrl: string;
  databaseUrl: string;
  /** our Redis keys and PostgreSQL schemas start with this */
  runId: string;
  /** rounds of (off, on) — run as off on, on off, … so drift hits both sides alike */
  rounds: number;
  windowSeconds: number;
  workerConcurrency: number;
  batchMaxSegments: number;
  httpConcurrency: number;
  cores: number;
  /** before each run, wait up to this long for the machine to quieten (seconds) */
  quietWait: number;
  log: (line: string) => void;
}

export interface IngestRun {
  store: 'on' | 'off';
  round: number;
  /** documents/s from the first request until every one was applied to the counters */
  appliedPerSecond: number;
  /** with the store: documents/s from the first request until PostgreSQL held every one */
  storedPerSecond?: number;
  appliedSeconds: number;
  storedSeconds?: number;
  /** other processes' load before the run, cores */
  busyBefore: number;
}

/** Which schemas the runs made; the caller drops them (even after a failure). */
export interface IngestAb {
  runs: IngestRun[];
  schemas: string[];
  prefixes: string[];
}

/**
 * The same corpus through `trace-insights server` + `worker` with the trace store off
 * (TRACES_ENABLED=false) and on (a fresh schema per run), alternating. "On" also waits for the
 * "traces" queue to be written to PostgreSQL: the documents table holding every document sent.
 */
export async function runIngestAb(corpus: Corpus, warmup: Corpus, sql: Sql, redis: Redis, opts: IngestAbOptions, made: IngestAb): Promise<IngestRun[]> {
  const order: ('on' | 'off')[] = [];
  for (let r = 0; r < opts.rounds; r++) order.push(...(r % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)));
  const runs: IngestRun[] = [];
  for (const [i, mode] of order.entries()) {
    const round = Math.floor(i / 2) + 1;
    const prefix = `bench-traces-${opts.runId}-${mode}${round}`;
    made.prefixes.push(prefix);
    const schema = `bench_traces_${opts.runId}_${mode}${round}`;
    let env: Record<string, string> = { TRACES_ENABLED: 'false' };
    let settle: ((phase: 'warm-up' | 'timed') => Promise<void>) | undefined;
    if (mode === 'on') {
      made.schemas.push(schema);
      await applyMigrations(traceStore(sql, { schema }));
      env = { TRACES_ENABLED: 'true', DATABASE_URL: opts.databaseUrl, TRACE_SCHEMA: schema };
      settle = (phase) => waitForDocuments(sql, schema, phase === 'warm-up' ? warmup.expected.segments : warmup.expected.segments + corpus.expected.segments, opts.log);
    }
    const q = opts.quietWait > 0 ? await waitForQuiet(opts.quietWait) : { busyCores: NaN };
    const e2e = await runEndToEnd(corpus, warmup, {
      redisUrl: opts.redisUrl,
      prefix,
      windowSeconds: opts.windowSeconds,
      workerConcurrency: opts.workerConcurrency,
      batchMaxSegments: opts.batchMaxSegments,
      httpConcurrency: opts.httpConcurrency,
      cores: opts.cores,
      env,
      settle,
      log: opts.log,
    });
    const run: IngestRun = {
      store: mode,
      round,
      appliedPerSecond: e2e.perSecond,
      appliedSeconds: e2e.seconds,
      storedSeconds: e2e.settledSeconds,
      storedPerSecond: e2e.settledSeconds ? corpus.expected.segments / e2e.settledSeconds : undefined,
      busyBefore: q.busyCores,
    };
    runs.push(run);
    const stored = run.storedSeconds ? `; stored in PostgreSQL after ${run.storedSeconds.toFixed(2)} s = ${fmt(run.storedPerSecond!)} docs/s` : '';
    opts.log(
      `  store ${mode.padEnd(3)} round ${round}: applied ${fmt(run.appliedPerSecond)} docs/s (${run.appliedSeconds.toFixed(2)} s)${stored}` +
        `; others busy ${q.busyCores.toFixed(2)} cores before`,
    );
    // PostgreSQL is among "others" here; until the counters are applied only
    opts.log(`    cpu until applied: ${formatCpu(e2e.cpu)}`);
    await dropPrefix(redis, prefix);
  }
  return runs;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** Polls the documents table until it holds `want` rows; gives up when the count stands still for 60 s. */
async function waitForDocuments(sql: Sql, schema: string, want: number, log: (line: string) => void): Promise<void> {
  let last = -1;
  let lastChange = Date.now();
  let lastLog = Date.now();
  for (;;) {
    const [{ n }] = (await sql.unsafe(`select count(*)::int as n from "${schema}".documents`)) as unknown as [{ n: number }];
    if (n >= want) return;
    if (n !== last) lastChange = Date.now();
    last = n;
    if (Date.now() - lastChange > 60_000) throw new Error(`trace store ${schema}: ${n} of ${want} documents stored, no progress for 60 s`);
    if (Date.now() - lastLog >= 5000) {
      lastLog = Date.now();
      log(`    trace store: ${fmt(n)}/${fmt(want)} documents stored`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
