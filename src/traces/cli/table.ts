import type { TraceSummary } from './client.js';
import { clip, columns, isoTime, marks, ms } from './format.js';

export interface SummaryTableOptions {
  /** Longest `METHOD URL` cell before it is cut with `…`, so the services column stays readable. @defaultValue 60 */
  urlWidth?: number;
}

const HEADER = ['TIME (UTC)', 'TRACE ID', 'RESPONSE', 'STATUS', 'METHOD URL', 'SERVICES'];

/** The summaries as a table, one line per trace, in the order given (the service decides it). */
export function summaryTable(summaries: readonly TraceSummary[], options: SummaryTableOptions = {}): string[] {
  const urlWidth = options.urlWidth ?? 60;
  const rows = summaries.map((s) => {
    const status = [s.Http?.HttpStatus !== undefined ? String(s.Http.HttpStatus) : '-', ...marks({ fault: s.HasFault, error: s.HasError, throttle: s.HasThrottle })];
    if (s.IsPartial) status.push('PARTIAL');
    const request = [s.Http?.HttpMethod, s.Http?.HttpURL].filter((v): v is string => Boolean(v)).join(' ');
    const services = [...new Set((s.ServiceIds ?? []).map((x) => x.Name).filter((n): n is string => Boolean(n)))].join(',');
    return [isoTime(s.StartTime), s.Id, ms(s.ResponseTime ?? s.Duration), status.join(' '), request ? clip(request, urlWidth) : '-', services || '-'];
  });
  return columns([HEADER, ...rows], new Set([2]));
}
