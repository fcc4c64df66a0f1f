/** X-Ray identifier formats (reference §1.1). Upper-case hex is accepted and normalised to lower case. */
export const TRACE_ID_RE = /^1-[0-9a-fA-F]{8}-[0-9a-fA-F]{24}$/;
export const ENTITY_ID_RE = /^[0-9a-fA-F]{16}$/;
/** A `cause` given as a string refers to an exception by id: 16 characters, documented as an id, not as hex. */
export const EXCEPTION_ID_LENGTH = 16;

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

/**
 * Length in Unicode code points, as zod measures strings (a surrogate pair is one, a lone surrogate
 * one too); callers need it only when the UTF-16 length alone cannot decide.
 */
export function codePointLength(s: string): number {
  const n = s.length;
  let count = n;
  for (let i = 0; i < n - 1; i++) {
    if ((s.charCodeAt(i) & 0xfc00) === 0xd800 && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      count--;
      i++;
    }
  }
  return count;
}

/** A cause that refers to an exception by id: any 16 characters (code points), hex or not. */
export function isExceptionIdRef(v: string): boolean {
  return v.length >= EXCEPTION_ID_LENGTH && v.length <= 2 * EXCEPTION_ID_LENGTH && codePointLength(v) === EXCEPTION_ID_LENGTH;
}
