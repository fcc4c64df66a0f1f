import {
  asObject,
  asString,
  endOf,
  inferredType,
  isCall,
  roundSeconds,
  startOf,
  type Entity,
  type RawDoc,
} from './entity.js';

/** A node of the trace's service graph: a service's segments, or a dependency inferred from calls. */
export interface GraphNode {
  name: string;
  type?: string;
  accountId?: string;
  inferred: boolean;
  /** what `service(…) { … }` evaluates: the node's segments, or for an inferred node the calls to it */
  entities: Entity[];
}

/** A call from one node to another; `entity` is what `edge(…) { … }` evaluates. */
export interface GraphCall {
  from: GraphNode;
  to: GraphNode;
  entity: Entity;
}

export interface TraceModel {
  /** every entity, nested and orphan subsegments included */
  entities: Entity[];
  segments: Entity[];
  /** the segment trace-level keywords read; undefined when the trace has no segment */
  root: Entity | undefined;
  nodes: GraphNode[];
  calls: GraphCall[];
}

/**
 * Assembles a trace's documents the way X-Ray processes them (reference §1.10): later complete
 * documents replace earlier ones and in-progress placeholders, independent subsegments join their
 * parent by parent_id, and a segment whose parent_id names an entity of another segment is a call
 * from that entity.
 */
export function buildTraceModel(documents: readonly object[]): TraceModel {
  const docs = latestById(documents);
  const byId = new Map<string, Entity>();
  const entities: Entity[] = [];
  const segments: Entity[] = [];
  const pending: RawDoc[] = [];

  const add = (doc: RawDoc, parent: Entity | undefined, isSegment: boolean): Entity => {
    const e: Entity = { doc, name: asString(doc.name) ?? '', isSegment, segment: undefined, parent, children: [], downstream: [] };
    e.segment = isSegment ? e : parent?.segment;
    entities.push(e);
    const id = asString(doc.id);
    if (id !== undefined && !byId.has(id)) byId.set(id, e);
    const subs = doc.subsegments;
    if (Array.isArray(subs)) {
      for (const s of subs) {
        const o = asObject(s);
        if (o) e.children.push(add(o, e, false));
      }
    }
    return e;
  };

  for (const doc of docs) {
    if (doc.type === 'subsegment') pending.push(doc);
    else segments.push(add(doc, undefined, true));
  }
  attachIndependent(pending, byId, add);

  for (const s of segments) {
    const parentId = asString(s.doc.parent_id);
    const caller = parentId === undefined ? undefined : byId.get(parentId);
    if (caller && caller.segment !== s) {
      s.parent = caller;
      caller.downstream.push(s);
    }
  }

  const { nodes, calls } = serviceGraph(segments);
  return { entities, segments, root: rootOf(segments), nodes, calls };
}

// same id twice: a complete document wins over a placeholder, and otherwise the later one wins
function latestById(documents: readonly object[]): RawDoc[] {
  const out: RawDoc[] = [];
  const at = new Map<string, number>();
  for (const d of documents) {
    const doc = asObject(d);
    if (!doc) continue;
    const id = asString(doc.id);
    const i = id === undefined ? undefined : at.get(id);
    if (id === undefined || i === undefined) {
      if (id !== undefined) at.set(id, out.length);
      out.push(doc);
    } else if (!(doc.in_progress === true && out[i]!.in_progress !== true)) {
      out[i] = doc;
    }
  }
  return out;
}

// independent subsegments may name one another as parents, in any order: attach until none fits
function attachIndependent(
  pending: RawDoc[],
  byId: Map<string, Entity>,
  add: (doc: RawDoc, parent: Entity | undefined, isSegment: boolean) => Entity,
): void {
  let left = pending.filter((d) => !byId.has(asString(d.id) ?? ''));
  for (let progress = true; progress && left.length; ) {
    progress = false;
    const next: RawDoc[] = [];
    for (const d of left) {
      const parent = byId.get(asString(d.parent_id) ?? '');
      if (parent) {
        parent.children.push(add(d, parent, false));
        progress = true;
      } else next.push(d);
    }
    left = next;
  }
  // orphans still count for partial, duration and annotations, though they belong to no service
  for (const d of left) add(d, undefined, false);
}

// a segment whose parent_id names nothing in the trace (an uninstrumented caller) can be the root too,
// but one that names no parent at all is the better claim
function rootOf(segments: Entity[]): Entity | undefined {
  const uncalled = segments.filter((s) => s.parent === undefined);
  const pool = uncalled.some((s) => s.doc.parent_id === undefined) ? uncalled.filter((s) => s.doc.parent_id === undefined) : uncalled;
  let root: Entity | undefined;
  for (const s of pool.length ? pool : segments) {
    if (root === undefined || (startOf(s) ?? Infinity) < (startOf(root) ?? Infinity)) root = s;
  }
  return root;
}

function serviceGraph(segments: Entity[]): { nodes: GraphNode[]; calls: GraphCall[] } {
  const nodes = new Map<string, GraphNode>();
  const calls: GraphCall[] = [];
  const node = (name: string, type: string | undefined, accountId: string | undefined, inferred: boolean): GraphNode => {
    const key = JSON.stringify([name, type, accountId, inferred]);
    let n = nodes.get(key);
    if (!n) {
      n = { name, inferred, entities: [] };
      if (type !== undefined) n.type = type;
      if (accountId !== undefined) n.accountId = accountId;
      nodes.set(key, n);
    }
    return n;
  };
  const segmentNode = (s: Entity) =>
    node(s.name, asString(s.doc.origin), asString(asObject(s.doc.aws)?.account_id), s.doc.inferred === true);

  for (const s of segments) segmentNode(s).entities.push(s);
  for (const s of segments) {
    const from = segmentNode(s);
    const caller = s.parent;
    if (caller?.segment) {
      // the call as the caller saw it, when it recorded one; else the callee's own segment
      calls.push({ from: segmentNode(caller.segment), to: from, entity: isCall(caller) ? caller : s });
    }
    for (const call of outermostCalls(s.children)) {
      if (answered(call)) continue;
      const to = node(call.name, inferredType(call), asString(asObject(call.doc.aws)?.account_id), true);
      to.entities.push(call);
      calls.push({ from, to, entity: call });
    }
  }
  return { nodes: [...nodes.values()], calls };
}

// an HTTP subsegment inside an AWS SDK call is the same call, not a second node
function outermostCalls(children: Entity[], out: Entity[] = []): Entity[] {
  for (const c of children) {
    if (isCall(c)) out.push(c);
    else outermostCalls(c.children, out);
  }
  return out;
}

// a traced callee draws its own node: inferring one too would count the call twice
const answered = (e: Entity): boolean => e.downstream.length > 0 || e.children.some(answered);

/** Earliest start to latest end over every entity: the trace's `duration`. */
export function traceDuration(model: TraceModel): number | undefined {
  let start = Infinity;
  let end = -Infinity;
  for (const e of model.entities) {
    const s = startOf(e);
    const f = endOf(e);
    if (s !== undefined && s < start) start = s;
    if (f !== undefined && f > end) end = f;
  }
  return start === Infinity || end === -Infinity ? undefined : roundSeconds(Math.max(0, end - start));
}
