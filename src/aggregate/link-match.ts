/**
 * Caller–callee links. A traced call (a caller's remote subsegment) and the segment of the service it
 * called (the callee) meet through the callee's `parent_id` = the call's subsegment id, in either order
 * and in any batch. A match is a link `<caller's edge id>><callee's node id>`: it tells which service an
 * alias (the name the caller used) stands for. This module alone matches the two sides and spells a
 * link; fold (within a batch), close (the pending evidence of a closing window) and read (pending
 * evidence of windows not yet closed) call it, each with its own idea of where a caller may be.
 */

/** The callee's side: the segment naming its caller's subsegment by `parent`, and the segment's node. */
export interface CalleeSide {
  readonly parent: string;
  readonly node: string;
}

/** The caller's side: the edge from the caller's node to the alias it called. */
export interface CallerSide {
  readonly edge: string;
}

/** A link's id: `<edge id>><callee node id>` (edge ids hold a '>' themselves: parse from the right). */
export function linkId(edge: string, calleeNode: string): string {
  return `${edge}>${calleeNode}`;
}

/** The edge and the callee's node of a link id. */
export function parseLinkId(link: string): { edge: string; callee: string } {
  const gt = link.lastIndexOf('>');
  return { edge: link.slice(0, gt), callee: link.slice(gt + 1) };
}

/**
 * Link ids met while folding a batch, built once each: a fresh concatenation used as a Map key is
 * flattened and hashed again on every use, which costs fold's hot loop more than the lookups here.
 */
export class LinkIds {
  private readonly byEdge = new Map<string, Map<string, string>>();

  id(edge: string, calleeNode: string): string {
    let byCallee = this.byEdge.get(edge);
    if (byCallee === undefined) this.byEdge.set(edge, (byCallee = new Map()));
    let link = byCallee.get(calleeNode);
    if (link === undefined) byCallee.set(calleeNode, (link = linkId(edge, calleeNode)));
    return link;
  }
}

/**
 * Matches each callee with the call it answers and hands over the pair with their link; a callee whose
 * caller is not found goes to `waiting` (to wait in Redis, or to be left alone).
 * @param callerOf the caller a callee names by its `parent`, where this stage looks for it; it may
 *   also take the caller, when a caller answers one callee only.
 * @param ids where link ids come from (fold passes one {@link LinkIds} per batch)
 */
export function matchCallees<E extends CalleeSide, C extends CallerSide>(
  callees: Iterable<E>,
  callerOf: (callee: E) => C | undefined,
  linked: (caller: C, callee: E, link: string) => void,
  waiting?: (callee: E) => void,
  ids?: LinkIds,
): void {
  for (const callee of callees) {
    const caller = callerOf(callee);
    if (caller) linked(caller, callee, ids ? ids.id(caller.edge, callee.node) : linkId(caller.edge, callee.node));
    else waiting?.(callee);
  }
}
