import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Hono } from 'hono';
import { z } from 'zod';
import type { Intake } from '../ingest/intake.js';
import type { Logger } from 'pino';
import { awsError } from './aws-error.js';

const bodySchema = z.object({ TraceSegmentDocuments: z.array(z.string()).min(1).max(10_000) });

export interface PutDeps {
  intake: Intake;
  /** Whether the queue's Redis is reachable right now: if not, answer 503 at once. */
  ready: () => boolean;
  /** While the ingest backlog is over its limit: why documents are refused (ThrottledException). */
  refusal?: () => string | undefined;
  /** Counts refused requests. */
  onThrottled?: () => void;
  log: Logger;
}

/** What PutTraceSegments answers, whichever HTTP stack carried the request. */
export interface PutOutcome {
  status: 200 | 400 | 413 | 429 | 500 | 503;
  /** set on errors: the exception name @aws-sdk/client-xray raises (`x-amzn-errortype`) */
  errorType?: string;
  body: unknown;
}

const error = (status: PutOutcome['status'], errorType: string, message: string): PutOutcome => ({ status, errorType, body: { __type: errorType, message } });
const invalid = (message: string) => error(400, 'InvalidRequestException', message);
const unavailable = () => error(503, 'ServiceUnavailableException', 'the queue (Redis) is unreachable; retry later');

/** 429 ThrottledException while the workers are behind (a modelled error the AWS SDKs retry), else undefined. */
function throttled(deps: PutDeps): PutOutcome | undefined {
  const why = deps.refusal?.();
  if (why === undefined) return undefined;
  deps.onThrottled?.();
  return error(429, 'ThrottledException', why);
}

/** The documents of a request body, or why there are none. A plain check first; zod explains refusals. */
function documentsOf(json: unknown): string[] | PutOutcome {
  const docs = (json as { TraceSegmentDocuments?: unknown } | null)?.TraceSegmentDocuments;
  if (Array.isArray(docs) && docs.length >= 1 && docs.length <= 10_000 && docs.every((d) => typeof d === 'string')) return docs as string[];
  const body = bodySchema.safeParse(json);
  if (body.success) return body.data.TraceSegmentDocuments;
  const i = body.error.issues[0]!;
  return invalid(`TraceSegmentDocuments: ${i.path.join('.')} ${i.message}`.trim());
}

/**
 * PutTraceSegments (reference §4.2, §4.3) on a request body: validates every document, queues the good
 * ones and answers once they are durable; each bad one comes back in UnprocessedTraceSegments.
 */
export async function putTraceSegments(deps: PutDeps, text: string): Promise<PutOutcome> {
  if (!deps.ready()) return unavailable();
  const refused = throttled(deps);
  if (refused) return refused;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return invalid('request body is not JSON');
  }
  const docs = documentsOf(json);
  if (!Array.isArray(docs)) return docs;
  const r = deps.intake.submit('http', docs);
  try {
    await r.queued;
  } catch (err) {
    deps.log.warn({ err: (err as Error).message }, 'PutTraceSegments: batch could not be queued');
    return unavailable();
  }
  return {
    status: 200,
    body: {
      UnprocessedTraceSegments: r.rejections.map((x) => ({
        ...(x.id !== undefined ? { Id: x.id } : {}),
        ErrorCode: x.code,
        Message: x.message,
      })),
    },
  };
}

/** The route on the Hono app (in-process requests, and any server not built by startServer). */
export function putTraceSegmentsRoute(app: Hono, deps: PutDeps): void {
  app.post('/TraceSegments', async (c) => {
    const out = await putTraceSegments(deps, await c.req.text());
    if (out.status === 429 || out.status === 503) c.header('retry-after', '1');
    if (out.errorType) return awsError(c, out.status, out.errorType, (out.body as { message: string }).message);
    return c.json(out.body);
  });
}

/**
 * The same operation straight on node:http, for the servers startServer builds: the ingest path is the
 * hottest request there is, and reading the body as Buffers (no web-stream adapter, no TextDecoder
 * stream) halves what the door costs per request. Every other route stays on Hono.
 * @returns true when the request was PutTraceSegments and is handled here
 */
export function nodePutTraceSegments(deps: PutDeps, bodyLimitBytes: number): (req: IncomingMessage, res: ServerResponse) => boolean {
  const send = (res: ServerResponse, out: PutOutcome) => {
    const body = JSON.stringify(out.body);
    const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    if (out.errorType) {
      headers['x-amzn-errortype'] = out.errorType;
      headers['x-amzn-requestid'] = randomUUID();
    }
    if (out.status === 429 || out.status === 503) headers['retry-after'] = '1';
    res.writeHead(out.status, headers).end(body);
  };
  // The rest of an oversized body is read and dropped (node:http does that once the answer is sent), so
  // that a client still writing it gets the 413 rather than a broken pipe; server.requestTimeout bounds it.
  const tooLarge = (res: ServerResponse) => send(res, error(413, 'RequestEntityTooLargeException', `request body is larger than ${bodyLimitBytes} bytes`));
  return (req, res) => {
    if (req.method !== 'POST' || req.url !== '/TraceSegments') return false;
    const declared = Number(req.headers['content-length']);
    if (declared > bodyLimitBytes) {
      tooLarge(res);
      req.resume();
      return true;
    }
    // shedding load costs no parsing: answer before the body is read, then let it drain
    const shed = deps.ready() ? throttled(deps) : undefined;
    if (shed) {
      send(res, shed);
      req.resume();
      return true;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > bodyLimitBytes) {
        refused = true;
        chunks.length = 0;
        tooLarge(res);
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => {
      refused = true;
    });
    req.on('end', () => {
      if (refused) return;
      const text = (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)).toString('utf8');
      putTraceSegments(deps, text).then(
        (out) => send(res, out),
        (err: unknown) => {
          deps.log.error({ err }, 'PutTraceSegments failed');
          send(res, { status: 500, errorType: 'InternalFailure', body: { __type: 'InternalFailure', message: 'internal error' } });
        },
      );
    });
    return true;
  };
}
