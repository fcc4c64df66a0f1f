import { z } from 'zod';

/**
 * Settings of `npm run bench:ingest`: each one a flag (`--segments 100000` or `--segments=100000`) or an
 * environment variable (BENCH_SEGMENTS=100000); the flag wins.
 */
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z.union([z.boolean(), z.enum(['1', 'true', 'yes', '0', 'false', 'no', ''])]).transform((v) => v === true || v === '1' || v === 'true' || v === 'yes');

const schema = z
  .object({
    /** Segment documents to push through (whole traces: the count is rounded up to the next trace). */
    segments: int(1, 20_000_000).default(1_000_000),
    /** Simulator seed. */
    seed: int(0, 2 ** 31).default(42),
    /** Client requests per second of event time (each is ~3.8 segment documents of SHOP). */
    rate: int(1, 1_000_000).default(500),
    /** Event time of the first request, epoch seconds; well in the past so no future-timestamp check trips. */
    startTime: int(1_000_000_000, 4_000_000_000).default(1_700_000_040),
    /** The service's aggregation window. */
    windowSeconds: int(1, 86400).default(60),
    /** Documents per PutTraceSegments request. */
    docsPerRequest: int(1, 10_000).default(200),
    /** Requests in flight at once. */
    httpConcurrency: int(1, 1024).default(16),
    /** The worker's job concurrency (WORKER_CONCURRENCY); the bare pipeline uses the same. */
    workerConcurrency: int(1, 256).default(4),
    /** The door's batch size (BATCH_MAX_SEGMENTS). */
    batchMaxSegments: int(1, 10_000).default(1000),
    /** Documents sent (and applied) before timing starts, in windows of their own, to warm the JIT. */
    warmupSegments: int(0, 1_000_000).default(20_000),
    /** Job size of the bare pipeline; 0 = the mean job size the door made in the end-to-end run. */
    bareBatch: int(0, 10_000).default(0),
    /** Skip the baselines that need their own run: the bare BullMQ pipeline and HTTP only. */
    skipBare: bool.default(false),
    /** Write CPU profiles of the server and worker (node --cpu-prof) under .tmp/ and summarize them. */
    cpuProf: bool.default(false),
    /** Before each timed phase, wait up to this long for the machine to be idle (others < 0.5 core). */
    quietWait: int(0, 3600).default(60),
    /** Functions listed per profile. */
    profTop: int(1, 200).default(25),
    /** Redis to use. */
    redisUrl: z.string().url().default('redis://127.0.0.1:6379'),
  })
  .strict();

export type BenchOptions = Readonly<z.infer<typeof schema>>;

/** Flag name → [option, environment variable]. */
const FLAGS: Record<string, [keyof BenchOptions, string]> = {
  segments: ['segments', 'BENCH_SEGMENTS'],
  seed: ['seed', 'BENCH_SEED'],
  rate: ['rate', 'BENCH_RATE'],
  'start-time': ['startTime', 'BENCH_START_TIME'],
  'window-seconds': ['windowSeconds', 'BENCH_WINDOW_SECONDS'],
  'docs-per-request': ['docsPerRequest', 'BENCH_DOCS_PER_REQUEST'],
  'http-concurrency': ['httpConcurrency', 'BENCH_HTTP_CONCURRENCY'],
  'worker-concurrency': ['workerConcurrency', 'BENCH_WORKER_CONCURRENCY'],
  'batch-max-segments': ['batchMaxSegments', 'BENCH_BATCH_MAX_SEGMENTS'],
  warmup: ['warmupSegments', 'BENCH_WARMUP'],
  'bare-batch': ['bareBatch', 'BENCH_BARE_BATCH'],
  'skip-bare': ['skipBare', 'BENCH_SKIP_BARE'],
  'cpu-prof': ['cpuProf', 'BENCH_CPU_PROF'],
  'prof-top': ['profTop', 'BENCH_PROF_TOP'],
  'quiet-wait': ['quietWait', 'BENCH_QUIET_WAIT'],
  redis: ['redisUrl', 'REDIS_URL'],
};
const BOOLEAN_FLAGS = new Set(['skip-bare', 'cpu-prof']);

export function usage(): string {
  const lines = Object.entries(FLAGS).map(([flag, [, env]]) => `  --${flag.padEnd(20)} ${env}`);
  return `usage: npm run bench:ingest -- [flags]\n${lines.join('\n')}\n(see bench/options.ts for meanings and defaults)`;
}

/** Reads flags and environment; throws an Error naming the bad setting. */
export function parseOptions(argv: readonly string[], env: Record<string, string | undefined>): BenchOptions {
  const raw: Record<string, unknown> = {};
  for (const [, [key, name]] of Object.entries(FLAGS)) {
    const v = env[name];
    if (v !== undefined && v.trim() !== '') raw[key] = v;
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}\n${usage()}`);
    const eq = arg.indexOf('=');
    const flag = arg.slice(2, eq < 0 ? undefined : eq);
    const entry = FLAGS[flag];
    if (!entry) throw new Error(`unknown flag --${flag}\n${usage()}`);
    if (eq >= 0) raw[entry[0]] = arg.slice(eq + 1);
    else if (BOOLEAN_FLAGS.has(flag)) raw[entry[0]] = true;
    else {
      const v = argv[++i];
      if (v === undefined) throw new Error(`--${flag} needs a value`);
      raw[entry[0]] = v;
    }
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`bench option ${issue.path.join('.')}: ${issue.message}`);
  }
  return Object.freeze(parsed.data);
}
