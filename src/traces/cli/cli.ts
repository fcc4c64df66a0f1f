import { loadConfig } from '../../config/load.js';
import { isTraceId } from '../../xray/ids.js';
import { traceApiClient, type ApiFailure, type TraceApiClientOptions } from './client.js';
import { summaryTable } from './table.js';
import { parseTimeArg } from './time-arg.js';
import { formatTimeline, timelineOf } from './timeline.js';

/** Defaults of `traces`: the last hour, 50 traces. */
export const TRACES_DEFAULTS = Object.freeze({ since: '1h', limit: 50, maxLimit: 10_000 });

/** Where the commands write and what they read; the composition root passes the process's. */
export interface TraceCliIo {
  out(line: string): void;
  err(line: string): void;
  env: Record<string, string | undefined>;
  /** epoch seconds @defaultValue the wall clock */
  now?: () => number;
  fetch?: TraceApiClientOptions['fetch'];
}

export interface EndpointOptions {
  /** base URL of the service; else TRACE_INSIGHTS_URL; else 127.0.0.1 and the configured port */
  endpoint?: string;
  /** JSON config layered over config/default.json, read only for the default endpoint */
  config?: string;
}

/** `traces` options as typed: checked here, so a bad value exits 2 with one line. */
export interface TracesCliOptions extends EndpointOptions {
  filter?: string;
  since?: string;
  until?: string;
  limit?: string;
  json?: boolean;
}

export interface TraceCliOptions extends EndpointOptions {
  json?: boolean;
}

class UsageError extends Error {}

function endpointOf(o: EndpointOptions, env: TraceCliIo['env']): string {
  let url = o.endpoint ?? (env.TRACE_INSIGHTS_URL?.trim() || undefined);
  if (url === undefined) {
    const cfg = loadConfig({ file: o.config, env });
    // a wildcard bind address is not one to connect to
    const host = ['0.0.0.0', '::', ''].includes(cfg.host) ? '127.0.0.1' : cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host;
    url = `http://${host}:${cfg.port}`;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`endpoint must be an http(s) URL, got "${url}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UsageError(`endpoint must be an http(s) URL, got "${url}"`);
  return url;
}

function timeArg(name: string, v: string, now: number): number {
  const t = parseTimeArg(v, now);
  if (t === undefined) throw new UsageError(`--${name} takes a duration ago (15m, 1h, 2d) or a time (2026-12-07T13:00:00Z), got "${v}"`);
  return t;
}

/** One line for a failed call; a refused request is the user's to fix (2), anything else is 1. */
function failed(cmd: string, f: ApiFailure, io: TraceCliIo): number {
  switch (f.kind) {
    case 'unreachable':
      io.err(`${cmd}: ${f.message}; is trace-insights running there? (--endpoint or TRACE_INSIGHTS_URL to point elsewhere)`);
      return 1;
    case 'invalid_request':
      io.err(`${cmd}: refused: ${f.message}`);
      return 2;
    default:
      io.err(`${cmd}: ${f.message}`);
      return 1;
  }
}

function usage(cmd: string, err: unknown, io: TraceCliIo): number {
  io.err(`${cmd}: ${(err as Error).message}`);
  return 2;
}

/** `trace-insights traces`: recent trace summaries as a table (or JSON). Returns the exit code. */
export async function tracesCommand(o: TracesCliOptions, io: TraceCliIo): Promise<number> {
  const now = (io.now ?? (() => Date.now() / 1000))();
  let endpoint: string;
  let start: number;
  let end: number;
  let limit: number;
  try {
    endpoint = endpointOf(o, io.env);
    start = timeArg('since', o.since ?? TRACES_DEFAULTS.since, now);
    end = o.until === undefined ? now : timeArg('until', o.until, now);
    if (end <= start) throw new UsageError(`--until must be after --since`);
    limit = o.limit === undefined ? TRACES_DEFAULTS.limit : Number(o.limit);
    if (o.limit !== undefined && (o.limit.trim() === '' || !Number.isInteger(limit) || limit < 1 || limit > TRACES_DEFAULTS.maxLimit)) {
      throw new UsageError(`--limit must be an integer from 1 to ${TRACES_DEFAULTS.maxLimit}, got "${o.limit}"`);
    }
  } catch (err) {
    return usage('traces', err, io);
  }
  const filter = o.filter?.trim() || undefined;
  const r = await traceApiClient({ endpoint, fetch: io.fetch }).summaries({ start, end, filter, limit });
  if (!r.ok) return failed('traces', r.failure, io);
  const { summaries, more } = r.value;
  if (o.json) {
    io.out(JSON.stringify(summaries, null, 2));
  } else if (summaries.length === 0) {
    io.err(`traces: none from ${new Date(start * 1000).toISOString()} to ${new Date(end * 1000).toISOString()}${filter ? ` matching ${filter}` : ''}`);
  } else {
    for (const line of summaryTable(summaries)) io.out(line);
  }
  if (more) io.err(`traces: showing the first ${summaries.length}; there are more (--limit, --since, --until or --filter)`);
  return 0;
}

/** `trace-insights trace ID`: one trace as an indented timeline (or its documents as JSON). Returns the exit code. */
export async function traceCommand(id: string, o: TraceCliOptions, io: TraceCliIo): Promise<number> {
  let endpoint: string;
  try {
    endpoint = endpointOf(o, io.env);
    if (!isTraceId(id.trim())) throw new UsageError(`a trace id looks like 1-5759e988-bd862e3fe1be46a994272793, got "${id}"`);
  } catch (err) {
    return usage('trace', err, io);
  }
  const r = await traceApiClient({ endpoint, fetch: io.fetch }).trace(id.trim());
  if (!r.ok) return failed('trace', r.failure, io);
  const trace = r.value;
  if (!trace) {
    io.err(`trace: ${endpoint} has no trace ${id.trim()} (never stored, or past retention)`);
    return 1;
  }
  const docs = trace.Segments.map((s) => {
    try {
      return JSON.parse(s.Document) as unknown;
    } catch {
      return s.Document;
    }
  });
  if (o.json) {
    io.out(JSON.stringify(docs, null, 2));
    return 0;
  }
  const objects = docs.filter((d): d is object => d !== null && typeof d === 'object' && !Array.isArray(d));
  for (const line of formatTimeline(trace.Id, timelineOf(objects))) io.out(line);
  return 0;
}
