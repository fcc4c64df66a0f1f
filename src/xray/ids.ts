/** X-Ray identifier formats (reference §1.1). Upper-case hex is accepted and normalised to lower case. */
export const TRACE_ID_RE = /^1-[0-9a-fA-F]{8}-[0-9a-fA-F]{24}$/;
export const ENTITY_ID_RE = /^[0-9a-fA-F]{16}$/;

/** s[from, to) is all hex digits (either case). */
function isHex(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    const l = c | 32;
    if (!((c >= 48 && c <= 57) || (l >= 97 && l <= 102))) return false;
  }
  return true;
}

/** TRACE_ID_RE.test(v), without the regular expression (this runs several times per document). */
export function isTraceId(v: string): boolean {
  return v.length === 35 && v.charCodeAt(0) === 49 && v.charCodeAt(1) === 45 && v.charCodeAt(10) === 45 && isHex(v, 2, 10) && isHex(v, 11, 35);
}

/** ENTITY_ID_RE.test(v), without the regular expression. */
export function isEntityId(v: string): boolean {
  return v.length === 16 && isHex(v, 0, 16);
}

/** Epoch seconds encoded in a trace id. */
export function traceIdEpoch(traceId: string): number {
  return parseInt(traceId.slice(2, 10), 16);
}
