import { Command } from 'commander';
import { run } from './main.js';
import { replayCli } from './replay/cli.js';
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
  .option('--labels <file>', "score against the simulator's labels file")
  .option('--keep', "keep the replay namespace's keys in Redis afterwards")
  .option('--workers <n>', 'worker processes (default: one per core, at most 4)', (v) => Number(v))
  .action(async (files: string[], o) => {
    // the composition root ends the process: a replay leaves no work behind it
    process.exit(await replayCli(files, o));
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (!(err instanceof RedisUnreachableError)) throw err;
  // only a configured Redis can be unreachable at start-up: a found one answered a moment ago
  console.error(unreachableMessage({ url: err.url, source: configuredRedisSource(process.env), reason: err.reason, waitedSeconds: err.waitedSeconds }));
  process.exit(1);
}
