/** X-Ray identifier formats (reference §1.1). Upper-case hex is accepted and normalised to lower case. */
export const TRACE_ID_RE = /^1-[0-9a-fA-F]{8}-[0-9a-fA-F]{24}$/;
export const ENTITY_ID_RE = /^[0-9a-fA-F]{16}$/;

export function isTraceId(v: string): boolean {
  return TRACE_ID_RE.test(v);
}

export function isEntityId(v: string): boolean {
  return ENTITY_ID_RE.test(v);
}

/** Epoch seconds encoded in a trace id. */
export function traceIdEpoch(traceId: string): number {
  return parseInt(traceId.slice(2, 10), 16);
}
