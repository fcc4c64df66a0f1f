import { parseArgs } from 'node:util';
import { AppError } from '../util/errors.js';
import { DEFAULT_SAMPLING, SAMPLE_ALL, type SamplingSpec } from './model.js';
import { SCENARIOS } from './scenarios/index.js';
import { simulate, type SimulateOptions } from './simulate.js';
import { writeSimulation } from './write.js';

const USAGE = `usage: npm run simulate -- --scenario NAME --out FILE.ndjson[.gz] [options]

  --scenario NAME   ${SCENARIOS.map((s) => s.name).join(' | ')}
  --out FILE        NDJSON, one segment document per line sorted by start_time; gzipped if it ends in .gz
  --labels FILE     answer key (default: FILE.labels.json next to --out)
  --seed N          random seed (default: the scenario's)
  --hours H         event time to generate (default: the scenario's)
  --rate R          client requests/s at the entry, before sampling (default: the scenario's)
  --start EPOCH     epoch seconds of the first request (default: the scenario's fixed past date)
  --sampling RULE   all | default (1/s + 5 %) | RESERVOIR:RATE, e.g. 1:0.05 (default: the scenario's)
  --list            list the scenarios and exit`;

function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new AppError('SIM_BAD_OPTION', `--${name} must be a number, got "${v}"`);
  return n;
}

function sampling(v: string | undefined): SamplingSpec | undefined {
  if (v === undefined) return undefined;
  if (v === 'all') return SAMPLE_ALL;
  if (v === 'default') return DEFAULT_SAMPLING;
  const m = /^(\d+(?:\.\d+)?):(\d*\.?\d+)$/.exec(v);
  if (!m || Number(m[2]) > 1) throw new AppError('SIM_BAD_OPTION', `--sampling must be all, default or RESERVOIR:RATE with RATE in [0, 1], got "${v}"`);
  return { reservoir: Number(m[1]), rate: Number(m[2]) };
}

const iso = (t: number) => new Date(t * 1000).toISOString().replace('.000Z', 'Z');

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      scenario: { type: 'string' },
      out: { type: 'string' },
      labels: { type: 'string' },
      seed: { type: 'string' },
      hours: { type: 'string' },
      rate: { type: 'string' },
      start: { type: 'string' },
      sampling: { type: 'string' },
      list: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.list) {
    for (const s of SCENARIOS) {
      const d = s.defaults;
      console.log(`${s.name}\n  ${s.description}\n  defaults: seed ${d.seed}, start ${iso(d.start)}, ${d.hours} h, ${d.rate} requests/s\n`);
    }
    return 0;
  }
  if (!values.scenario || !values.out) {
    console.error(USAGE);
    return 2;
  }
  const opts: SimulateOptions = {
    seed: num('seed', values.seed),
    hours: num('hours', values.hours),
    rate: num('rate', values.rate),
    start: num('start', values.start),
    sampling: sampling(values.sampling),
  };
  const sim = simulate(values.scenario, opts);
  const s = await writeSimulation(sim, { out: values.out, labels: values.labels });
  const sc = sim.scenario;
  const mb = (b: number) => (b / 1e6).toFixed(1);
  console.log(
    `${sc.name} (seed ${sc.seed}): ${iso(sc.start)} → ${iso(sc.end)}, ${s.stats.requests} requests, ${s.stats.sampled} sampled ` +
      `(${sc.sampling.rate >= 1 ? 'all' : `reservoir ${sc.sampling.reservoir}/s + ${sc.sampling.rate * 100} %`}), ${s.stats.documents} documents`,
  );
  console.log(`  ${s.out}: ${mb(s.bytes)} MB (${mb(s.rawBytes)} MB of NDJSON) in ${s.seconds.toFixed(1)} s, ${Math.round(s.stats.documents / s.seconds)} documents/s`);
  console.log(`  ${s.labels}: ${s.incidents} incidents, ${sim.labels.nonIncidents.length} non-incidents`);
  for (const i of sim.labels.incidents) console.log(`    ${iso(i.start)}–${iso(i.end).slice(11)} ${i.kind} ×${i.magnitude} in ${i.rootCause.name} (${i.rootCause.type || 'no origin'})`);
  for (const n of sim.labels.nonIncidents) console.log(`    ${iso(n.start)} ${n.kind} ×${n.magnitude}${n.target ? ` in ${n.target.name}` : ''} (not an incident)`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof AppError || (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))) {
      console.error(`simulate: ${err.message}`);
      process.exit(2);
    }
    console.error(err);
    process.exit(1);
  },
);
