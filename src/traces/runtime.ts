import postgres from 'postgres';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { applyMigrations } from './store/migrations.js';
import { resolvePostgres, type NoPostgres, type PostgresSource } from './store/resolve.js';
import { traceStore, type TraceStore } from './store/store.js';

/** A trace store a process opened: ready once its migrations are applied. */
export interface OpenTraceStore {
  store: TraceStore;
  source: PostgresSource;
  /** undefined when ready; else why the store cannot be used yet (PostgreSQL not reachable). */
  notReady(): string | undefined;
  /** Stops retrying, ends the client and stops a private server this process started. */
  close(): Promise<void>;
}

/** How often migrations are retried while PostgreSQL does not answer at start-up. */
const MIGRATE_RETRY_MS = 5000;

const redact = (url: string) => url.replace(/\/\/[^@/]*@/, '//***@');

/**
 * Finds PostgreSQL (resolvePostgres), connects, and applies the migrations. When the configured server
 * does not answer yet, the store is returned not ready and migrations are retried in the background:
 * a database that starts after the service is picked up without a restart. Returns the reason when
 * there is no PostgreSQL to use at all (the service then runs without traces).
 */
export async function openTraceStore(cfg: Config, log: Logger, env: Record<string, string | undefined>, dataDir = '.data/postgres'): Promise<OpenTraceStore | NoPostgres> {
  if (!cfg.traces.enabled) return { reason: 'the trace store is turned off (traces.enabled / TRACES_ENABLED=false)' };
  const found = await resolvePostgres({ configured: cfg.traces.databaseUrl, fromEnv: Boolean(env.DATABASE_URL?.trim()), dataDir });
  if ('reason' in found) return found;
  const sql = postgres(found.url, { max: 8, connect_timeout: 5, idle_timeout: 60, onnotice: () => undefined });
  const store = traceStore(sql, { schema: cfg.traces.schema, retentionSeconds: cfg.traces.retentionSeconds });
  let reason: string | undefined = 'migrations not applied yet';
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const migrate = async (): Promise<void> => {
    try {
      const r = await applyMigrations(store);
      reason = undefined;
      log.info({ postgres: redact(found.url), source: found.source, schema: store.options.schema, applied: r.applied }, 'trace store ready');
    } catch (err) {
      const first = reason === 'migrations not applied yet';
      reason = `PostgreSQL at ${redact(found.url)} is not usable yet: ${(err as Error).message}`;
      if (first) log.warn({ postgres: redact(found.url), err: (err as Error).message }, `trace store not ready: ${reason}; retrying every ${MIGRATE_RETRY_MS / 1000} s`);
      if (!closed) {
        timer = setTimeout(() => void migrate(), MIGRATE_RETRY_MS);
        timer.unref();
      }
    }
  };
  await migrate();
  return {
    store,
    source: found.source,
    notReady: () => reason,
    close: async () => {
      closed = true;
      clearTimeout(timer);
      await sql.end({ timeout: 5 }).catch(() => undefined);
      await found.stop();
    },
  };
}
