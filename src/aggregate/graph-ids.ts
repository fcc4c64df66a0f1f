/**
 * Node and edge identities. A node is (type, name) as X-Ray draws it: a segment's origin and name, an
 * inferred `remote`/`AWS::…` node named after the calling subsegment, or the `client` of a root node.
 * `|` separates type and name, `>` the two ends of an edge; both are escaped inside names.
 */
const esc = (s: string) => s.replace(/%/g, '%25').replace(/\|/g, '%7C').replace(/>/g, '%3E');
const unesc = (s: string) => s.replace(/%3E/g, '>').replace(/%7C/g, '|').replace(/%25/g, '%');

export interface NodeRef {
  type: string;
  name: string;
}

const ids = new Map<string, string>();
const NEEDS_ESCAPE = /[%|>]/;

export function nodeId(type: string, name: string): string {
  // hot path (every segment and call): escape only when needed, and remember recent answers
  if (!NEEDS_ESCAPE.test(type) && !NEEDS_ESCAPE.test(name)) return `${type}|${name}`;
  const key = `${type}\u0000${name}`;
  let id = ids.get(key);
  if (id === undefined) {
    if (ids.size > 10_000) ids.clear();
    id = `${esc(type)}|${esc(name)}`;
    ids.set(key, id);
  }
  return id;
}

export function parseNodeId(id: string): NodeRef {
  const bar = id.indexOf('|');
  return { type: unesc(id.slice(0, bar)), name: unesc(id.slice(bar + 1)) };
}

export function edgeId(from: string, to: string): string {
  return `${from}>${to}`;
}

export function parseEdgeId(id: string): { from: string; to: string } {
  const gt = id.indexOf('>');
  return { from: id.slice(0, gt), to: id.slice(gt + 1) };
}

export const CLIENT_TYPE = 'client';
export const REMOTE_TYPE = 'remote';
