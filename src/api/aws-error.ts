import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/**
 * An error in the shape @aws-sdk/client-xray turns into a named exception: the code in
 * `x-amzn-errortype` and `__type`, the text in `message` (reference §4.1).
 */
export function awsError(c: Context, status: ContentfulStatusCode, code: string, message: string): Response {
  c.header('x-amzn-errortype', code);
  c.header('x-amzn-requestid', c.res.headers.get('x-amzn-requestid') ?? randomUUID());
  return c.json({ __type: code, message }, status);
}

export const invalidRequest = (c: Context, message: string) => awsError(c, 400, 'InvalidRequestException', message);
export const unavailable = (c: Context, message: string) => awsError(c, 503, 'ServiceUnavailableException', message);
