import { describe, expect, it } from 'vitest';
import { edgeId, nodeId } from '../../src/aggregate/graph-ids.js';
import { linkId, matchCallees, parseLinkId } from '../../src/aggregate/link-match.js';

describe('caller–callee links', () => {
  const edge = edgeId(nodeId('AWS::EC2::Instance', 'api'), nodeId('remote', 'payments.internal'));
  const callee = nodeId('AWS::ECS::Container', 'payments');

  it('spell a link as the edge and the callee, and read it back although edge ids hold a ">"', () => {
    expect(linkId(edge, callee)).toBe(`${edge}>${callee}`);
    expect(parseLinkId(linkId(edge, callee))).toEqual({ edge, callee });
  });

  it('match each callee with the caller its parent names, and hand the rest to waiting', () => {
    const callers = new Map([['sub-1', { edge }]]);
    const linked: string[] = [];
    const waiting: string[] = [];
    matchCallees(
      [
        { parent: 'sub-1', node: callee },
        { parent: 'sub-2', node: callee },
      ],
      (c) => callers.get(c.parent),
      (_caller, c, link) => linked.push(`${c.parent} ${link}`),
      (c) => waiting.push(c.parent),
    );
    expect(linked).toEqual([`sub-1 ${edge}>${callee}`]);
    expect(waiting).toEqual(['sub-2']);
  });
});
