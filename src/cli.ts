import { Command } from 'commander';
import { run } from './main.js';

const program = new Command('trace-insights').description('X-Ray segments in; per-service windows, the service graph and insights out');

program.command('start', { isDefault: true }).description('HTTP + UDP + worker in one process').option('--config <file>', 'JSON config layered over config/default.json').action((o) => run('all', o));
program.command('server').description('only the HTTP and UDP doors').option('--config <file>').action((o) => run('server', o));
program.command('worker').description('only the aggregation worker').option('--config <file>').action((o) => run('worker', o));

await program.parseAsync(process.argv);
