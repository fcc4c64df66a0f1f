import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import postgres from 'postgres';
import { freePort } from '../../util/net.js';

/** Where the trace store's PostgreSQL was found, for the start-up log line. */
export type PostgresSource = 'DATABASE_URL' | 'config' | 'local' | 'private';

export interface ResolvedPostgres {
  url: string;
  source: PostgresSource;
  /** Stops a private server this process started (no-op otherwise). */
  stop: () => Promise<void>;
}

/** Why there is no trace store: one line for the log and the trace API's 503. */
export interface NoPostgres {
  reason: string;
}

/** The database the service creates and uses on a local PostgreSQL. */
export const LOCAL_DATABASE = 'trace_insights';
const LOCAL = 'postgres://postgres@127.0.0.1:5432';

const none = async () => undefined;

/** Connects once and runs `select 1`; the error's message when that fails. */
async function probe(url: string, timeoutSeconds = 2): Promise<string | null> {
  const sql = postgres(url, { max: 1, connect_timeout: timeoutSeconds, idle_timeout: 1, onnotice: () => undefined });
  try {
    await sql`select 1`;
    return null;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await sql.end({ timeout: 1 }).catch(() => undefined);
  }
}

/** Creates `db` on the server of `adminUrl` unless it exists; a concurrent creator is fine. */
async function ensureDatabase(adminUrl: string, db: string): Promise<void> {
  const sql = postgres(adminUrl, { max: 1, connect_timeout: 2, onnotice: () => undefined });
  try {
    const found = await sql`select 1 from pg_database where datname = ${db}`;
    if (found.length === 0) {
      await sql.unsafe(`create database "${db}"`).catch((err: { code?: string }) => {
        if (err.code !== '42P04') throw err; // duplicate_database: another process made it first
      });
    }
  } finally {
    await sql.end({ timeout: 1 }).catch(() => undefined);
  }
}

/**
 * Finds PostgreSQL for the trace store as the README promises: DATABASE_URL (or the config file's
 * traces.databaseUrl) when set; else 127.0.0.1:5432 when it answers, using database trace_insights
 * (created when missing); else a private server started from the installed initdb/pg_ctl with its
 * data under `dataDir`; else a reason to run without traces. A configured URL is returned unprobed:
 * the store waits for it to come up rather than give up at start.
 */
export async function resolvePostgres(opts: {
  configured: string | null;
  fromEnv: boolean;
  dataDir: string;
  /** the local server to try (tests point it elsewhere) @defaultValue postgres://postgres@127.0.0.1:5432 */
  local?: string;
  /** initdb and pg_ctl; null: none installed @defaultValue findPostgresBinaries() */
  binaries?: PostgresBinaries | null;
}): Promise<ResolvedPostgres | NoPostgres> {
  if (opts.configured) return { url: opts.configured, source: opts.fromEnv ? 'DATABASE_URL' : 'config', stop: none };
  const server = opts.local ?? LOCAL;
  const local = await probe(`${server}/postgres`, 1);
  if (local === null) {
    try {
      await ensureDatabase(`${server}/postgres`, LOCAL_DATABASE);
      return { url: `${server}/${LOCAL_DATABASE}`, source: 'local', stop: none };
    } catch {
      // a server that answers but will not let us create our database: try a private one
    }
  }
  const bins = opts.binaries === undefined ? findPostgresBinaries() : (opts.binaries ?? undefined);
  if (!bins) {
    return { reason: `no PostgreSQL at 127.0.0.1:5432 (${local ?? 'could not create the database'}) and no initdb/pg_ctl installed: running without the trace store; set DATABASE_URL=postgres://user@host:5432/db to keep traces` };
  }
  try {
    return await startPrivatePostgres(bins, resolvePath(opts.dataDir));
  } catch (err) {
    return { reason: `no PostgreSQL at 127.0.0.1:5432 and a private one did not start (${(err as Error).message}): running without the trace store; set DATABASE_URL to keep traces` };
  }
}

export interface PostgresBinaries {
  initdb: string;
  pgCtl: string;
}

/** initdb and pg_ctl on PATH, else in Debian's /usr/lib/postgresql/<version>/bin (newest first). */
export function findPostgresBinaries(): PostgresBinaries | undefined {
  const onPath = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim();
  const initdb = onPath('initdb');
  const pgCtl = onPath('pg_ctl');
  if (initdb && pgCtl) return { initdb, pgCtl };
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) {
    const bin = `${base}/${v}/bin`;
    if (existsSync(`${bin}/initdb`) && existsSync(`${bin}/pg_ctl`)) return { initdb: `${bin}/initdb`, pgCtl: `${bin}/pg_ctl` };
  }
  return undefined;
}

/**
 * PostgreSQL refuses to run as root: when we are root, the server runs as the `postgres` account
 * (Debian's package makes one) through runuser, with the data folder handed to it.
 */
function asServerUser(dir: string): { wrap: (argv: string[]) => string[] } {
  if (process.getuid?.() !== 0) return { wrap: (argv) => argv };
  const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (id.status !== 0) throw new Error('running as root and there is no postgres account to run the server as');
  chownSync(dir, Number(id.stdout.trim()), Number(gid.stdout.trim()));
  return { wrap: (argv) => ['runuser', '-u', 'postgres', '--', ...argv] };
}

function run(argv: string[]): void {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.slice(argv.indexOf('--') + 1).join(' ').slice(0, 120)}: ${(r.stderr || r.stdout || String(r.error)).trim().split('\n').slice(-1)[0]}`);
}

/**
 * Starts (or reuses) a private server with its data in `dir`: initdb on first use (trust auth, user
 * postgres), listening on 127.0.0.1 at a free port with its socket in `dir`. A server already running
 * on that folder (another process of ours started it) is reused and left running. `port` picks the
 * port (a restart on the same address); a free one by default.
 */
export async function startPrivatePostgres(bins: PostgresBinaries, dir: string, opts: { port?: number } = {}): Promise<ResolvedPostgres> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const user = asServerUser(dir);
  if (!existsSync(`${dir}/PG_VERSION`)) run(user.wrap([bins.initdb, '-D', dir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-instructions']));
  const running = runningPort(bins, dir, user);
  if (running) {
    await ensureDatabase(`postgres://postgres@127.0.0.1:${running}/postgres`, LOCAL_DATABASE);
    return { url: `postgres://postgres@127.0.0.1:${running}/${LOCAL_DATABASE}`, source: 'private', stop: none };
  }
  const port = opts.port ?? (await freePort());
  run(user.wrap([bins.pgCtl, '-D', dir, '-l', `${dir}/server.log`, '-w', '-t', '30', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, 'start']));
  await ensureDatabase(`postgres://postgres@127.0.0.1:${port}/postgres`, LOCAL_DATABASE);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/${LOCAL_DATABASE}`,
    source: 'private',
    stop: async () => {
      const argv = user.wrap([bins.pgCtl, '-D', dir, '-m', 'fast', '-w', 'stop']);
      spawnSync(argv[0]!, argv.slice(1));
    },
  };
}

/** The port of a server running on `dir`, from its postmaster.pid (line 4), when pg_ctl says it runs. */
function runningPort(bins: PostgresBinaries, dir: string, user: { wrap: (argv: string[]) => string[] }): number | undefined {
  if (!existsSync(`${dir}/postmaster.pid`)) return undefined;
  const argv = user.wrap([bins.pgCtl, '-D', dir, 'status']);
  if (spawnSync(argv[0]!, argv.slice(1)).status !== 0) return undefined;
  const port = Number(readFileSync(`${dir}/postmaster.pid`, 'utf8').split('\n')[3]);
  return Number.isInteger(port) && port > 0 ? port : undefined;
}
