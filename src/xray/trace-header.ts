import { TRACE_ID_RE, ENTITY_ID_RE } from './ids.js';

/** A parsed `X-Amzn-Trace-Id` header (reference §2). */
export interface TraceHeader {
  root?: string;
  parent?: string;
  /** `true` = 1, `false` = 0, `'?'` = callee decides, undefined = absent. */
  sampled?: boolean | '?';
  self?: string;
  lineage?: string;
  /** Every other key, kept in order, passed through untouched. */
  extra: Array<[string, string]>;
}

/**
 * Parses the header the way the SDKs do: split on `;`, then on the first `=`, trim both sides,
 * keys case-insensitive, empty keys or values skipped, order irrelevant. Root/Parent values that are
 * not well-formed are dropped (returned undefined) rather than propagated.
 */
export function parseTraceHeader(value: string | null | undefined): TraceHeader {
  const out: TraceHeader = { extra: [] };
  if (!value) return out;
  for (const part of value.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const rawKey = part.slice(0, eq).trim();
    const val = part.slice(eq + 1).trim();
    if (!rawKey || !val) continue;
    const key = rawKey.toLowerCase();
    switch (key) {
      case 'root':
        if (TRACE_ID_RE.test(val)) out.root = val.toLowerCase();
        break;
      case 'parent':
        if (ENTITY_ID_RE.test(val)) out.parent = val.toLowerCase();
        break;
      case 'sampled':
        out.sampled = val === '1' ? true : val === '0' ? false : val === '?' ? '?' : undefined;
        break;
      case 'self':
        out.self = val;
        break;
      case 'lineage':
        out.lineage = val;
        break;
      default:
        out.extra.push([rawKey, val]);
    }
  }
  return out;
}

/** Serialises in the order the SDKs write: Root, Parent, Sampled, Lineage, then the rest; Self is not re-sent. */
export function formatTraceHeader(h: TraceHeader): string {
  const parts: string[] = [];
  if (h.root) parts.push(`Root=${h.root}`);
  if (h.parent) parts.push(`Parent=${h.parent}`);
  if (h.sampled !== undefined) parts.push(`Sampled=${h.sampled === '?' ? '?' : h.sampled ? '1' : '0'}`);
  if (h.lineage) parts.push(`Lineage=${h.lineage}`);
  for (const [k, v] of h.extra) parts.push(`${k}=${v}`);
  return parts.join(';');
}
