import { z } from 'zod';

/**
 * A client of the service's X-Ray trace API (GetTraceSummaries, BatchGetTraces) over plain HTTP, so the
 * terminal commands work against any deployment, local or remote. Expected failures (unreachable,
 * refused, no store) come back as values for the command to turn into one line and an exit code.
 */

/** A trace summary as GetTraceSummaries returns it; fields we do not read are kept for --json. */
export const traceSummarySchema = z.looseObject({
  Id: z.string(),
  StartTime: z.number().optional(),
  Duration: z.number().optional(),
  ResponseTime: z.number().optional(),
  HasFault: z.boolean().optional(),
  HasError: z.boolean().optional(),
  HasThrottle: z.boolean().optional(),
  IsPartial: z.boolean().optional(),
  Http: z.looseObject({ HttpURL: z.string().optional(), HttpStatus: z.number().optional(), HttpMethod: z.string().optional() }).optional(),
  ServiceIds: z.array(z.looseObject({ Name: z.string().optional() })).optional(),
});
export type TraceSummary = z.infer<typeof traceSummarySchema>;

const summariesPageSchema = z.looseObject({
  TraceSummaries: z.array(traceSummarySchema).default([]),
  NextToken: z.string().nullish(),
});

const tracesSchema = z.looseObject({
  Traces: z
    .array(
      z.looseObject({
        Id: z.string(),
        Duration: z.number().optional(),
        Segments: z.array(z.looseObject({ Id: z.string().optional(), Document: z.string() })).default([]),
      }),
    )
    .default([]),
  UnprocessedTraceIds: z.array(z.string()).default([]),
});
export type Trace = z.infer<typeof tracesSchema>['Traces'][number];

export type ApiFailure =
  /** no answer: refused, timed out, bad host */
  | { kind: 'unreachable'; message: string }
  /** 400: the request (the filter, usually) was refused; the message names where */
  | { kind: 'invalid_request'; message: string }
  /** 503: the deployment keeps no traces, or cannot read them now */
  | { kind: 'unavailable'; message: string }
  /** any other answer we cannot use */
  | { kind: 'failed'; message: string };

export type ApiResult<T> = { ok: true; value: T } | { ok: false; failure: ApiFailure };

export interface TraceApiClientOptions {
  /** Base URL of the service, e.g. `http://127.0.0.1:2000`; a path prefix (behind a proxy) is kept. */
  endpoint: string;
  /** Per request. @defaultValue 30000 */
  timeoutMs?: number;
  /** @defaultValue globalThis.fetch */
  fetch?: typeof fetch;
}

export interface SummariesQuery {
  /** epoch seconds */
  start: number;
  end: number;
  filter?: string;
  /** stop paging once this many summaries are in hand */
  limit: number;
}

export interface TraceApiClient {
  /** Pages through GetTraceSummaries until `limit` summaries or the end; `more` says whether some were left. */
  summaries(q: SummariesQuery): Promise<ApiResult<{ summaries: TraceSummary[]; more: boolean }>>;
  /** One trace by id, or undefined when the store does not know it. */
  trace(id: string): Promise<ApiResult<Trace | undefined>>;
}

function reason(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return 'no answer in time';
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
}

export function traceApiClient(options: TraceApiClientOptions): TraceApiClient {
  const base = options.endpoint.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 30_000;
  const doFetch = options.fetch ?? globalThis.fetch;

  async function post<S extends z.ZodType>(path: string, body: unknown, schema: S): Promise<ApiResult<z.infer<S>>> {
    let res: Response;
    let text: string;
    try {
      res = await doFetch(base + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await res.text();
    } catch (err) {
      return { ok: false, failure: { kind: 'unreachable', message: `cannot reach ${base} (${reason(err)})` } };
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const o = (json ?? {}) as { __type?: unknown; message?: unknown; Message?: unknown };
      const type = typeof o.__type === 'string' ? o.__type : res.headers.get('x-amzn-errortype') ?? `HTTP ${res.status}`;
      const message = typeof o.message === 'string' ? o.message : typeof o.Message === 'string' ? o.Message : text.slice(0, 200).trim();
      const kind = res.status === 400 ? 'invalid_request' : res.status === 503 ? 'unavailable' : 'failed';
      return { ok: false, failure: { kind, message: `${base} answered ${res.status} ${type}${message ? `: ${message}` : ''}` } };
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      return { ok: false, failure: { kind: 'failed', message: `${base}${path} did not answer as the X-Ray API does (is it trace-insights?)` } };
    }
    return { ok: true, value: parsed.data };
  }

  return {
    async summaries(q) {
      const out: TraceSummary[] = [];
      const seen = new Set<string>();
      let token: string | undefined;
      for (;;) {
        const page = await post(
          '/TraceSummaries',
          { StartTime: q.start, EndTime: q.end, ...(q.filter ? { FilterExpression: q.filter } : {}), ...(token ? { NextToken: token } : {}) },
          summariesPageSchema,
        );
        if (!page.ok) return page;
        out.push(...page.value.TraceSummaries);
        token = page.value.NextToken ?? undefined;
        // a token seen before would page forever
        if (!token || seen.has(token)) return { ok: true, value: { summaries: out.slice(0, q.limit), more: out.length > q.limit || token !== undefined } };
        if (out.length >= q.limit) return { ok: true, value: { summaries: out.slice(0, q.limit), more: true } };
        seen.add(token);
      }
    },
    async trace(id) {
      const r = await post('/Traces', { TraceIds: [id] }, tracesSchema);
      if (!r.ok) return r;
      return { ok: true, value: r.value.Traces.find((t) => t.Id.toLowerCase() === id.toLowerCase()) };
    },
  };
}
