import { Command, CommanderError } from 'commander';
import { run } from './main.js';
import { replayCli } from './replay/cli.js';
import { EVAL_DEFAULTS, evalCli } from './eval/cli.js';
import { TRACES_DEFAULTS, traceCommand, tracesCommand, type TraceCliIo } from './traces/cli/cli.js';
import { configuredRedisSource } from './redis/resolve.js';
import { RedisUnreachableError, unreachableMessage } from './redis/wait.js';

const program = new Command('trace-insights').description('X-Ray segments in; per-service windows, the service graph and insights out');

program.command('start', { isDefault: true }).description('HTTP + UDP + worker in one process').option('--config <file>', 'JSON config layered over config/default.json').action((o) => run('all', o));
program.command('server').description('only the HTTP and UDP doors').option('--config <file>').action((o) => run('server', o));
program
  .command('worker')
  .description('only the aggregation worker')
  .option('--config <file>')
  .option('--no-close', 'do not close windows or run detection (replay closes them itself)')
  .action((o: { config?: string; close: boolean }) => run('worker', { config: o.config, closes: o.close }));

program
  .command('replay')
  .description('push historical trace files (NDJSON or BatchGetTraces JSON, optionally .gz) through detection in event time')
  .argument('<files...>', 'trace files')
  .option('--config <file>', 'JSON config layered over config/default.json')
  .option('--out <file>', 'write insight events here (NDJSON; default: stdout)')
  .option('--report <file>', 'write a Markdown report')
  .option('--labels <file>', "score against a labels file (the simulator's or a dev-set case's), by the rules eval uses")
  .option('--keep', "keep the replay namespace's keys in Redis afterwards")
  .option('--workers <n>', 'worker processes (default: one per core, at most 4)', (v) => Number(v))
  .action(async (files: string[], o) => {
    // the composition root ends the process: a replay leaves no work behind it
    process.exit(await replayCli(files, o));
  });

program
  .command('eval')
  .description('replay every labelled case folder under DIR... and score the insights: recall, precision, false positives per hour, delay, AC@1/AC@3')
  .argument('<dirs...>', 'case folders (labels.json + segments.ndjson[.gz]) or folders holding them, searched recursively')
  .option('--config <file>', 'JSON config layered over config/default.json')
  .option('--json <file>', 'write everything (pooled, per kind, per case, per incident and insight) as JSON')
  .option('--jobs <n>', `cases replayed at once (default: ${EVAL_DEFAULTS.jobs})`)
  .option('--workers <n>', `worker processes per replay; 0 aggregates in the replaying process (default: ${EVAL_DEFAULTS.workers})`)
  // bad arguments exit 2, as evalCli's own checks do, not commander's 1
  .exitOverride()
  .action(async (dirs: string[], o) => {
    process.exit(await evalCli(dirs, o));
  });

const stdio: TraceCliIo = { out: (l) => console.log(l), err: (l) => console.error(l), env: process.env };
const endpointHelp = 'base URL of the service (default: TRACE_INSIGHTS_URL, else 127.0.0.1 and the configured port)';

program
  .command('traces')
  .description('list trace summaries from a running service, as a table')
  .option('--filter <expr>', 'X-Ray filter expression, e.g. \'service("billing") { fault }\'')
  .option('--since <when>', `start: a duration ago (15m, 1h, 2d) or an ISO time (default: ${TRACES_DEFAULTS.since})`)
  .option('--until <when>', 'end: a duration ago or an ISO time (default: now)')
  .option('--limit <n>', `at most this many traces (default: ${TRACES_DEFAULTS.limit})`)
  .option('--json', 'print the summaries as GetTraceSummaries returns them')
  .option('--endpoint <url>', endpointHelp)
  .option('--config <file>', 'JSON config layered over config/default.json (for the default endpoint)')
  .exitOverride()
  .action(async (o) => {
    process.exit(await tracesCommand(o, stdio));
  });

program
  .command('trace')
  .description('print one trace as an indented timeline of its segments and subsegments')
  .argument('<id>', 'trace id, e.g. 1-5759e988-bd862e3fe1be46a994272793')
  .option('--json', "print the trace's segment documents")
  .option('--endpoint <url>', endpointHelp)
  .option('--config <file>', 'JSON config layered over config/default.json (for the default endpoint)')
  .exitOverride()
  .action(async (id: string, o) => {
    process.exit(await traceCommand(id, o, stdio));
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  if (!(err instanceof RedisUnreachableError)) throw err;
  // only a configured Redis can be unreachable at start-up: a found one answered a moment ago
  console.error(unreachableMessage({ url: err.url, source: configuredRedisSource(process.env), reason: err.reason, waitedSeconds: err.waitedSeconds }));
  process.exit(1);
}
