import type { Redis } from 'ioredis';
import { keySpace, type KeySpace } from '../src/aggregate/keys.js';
import { F } from '../src/aggregate/fold.js';
import { AggregateReader } from '../src/aggregate/read.js';
import { parseNodeId } from '../src/aggregate/graph-ids.js';
import type { Expected } from './corpus.js';

/**
 * How many segment documents the workers have applied: the sum of every node's request count over the
 * given windows. Two pipelined round trips, cheap enough to poll every few milliseconds.
 */
export class AppliedCounter {
  private readonly keys: KeySpace;
  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly windows: readonly number[],
  ) {
    this.keys = keySpace(prefix);
  }

  async count(): Promise<number> {
    const p1 = this.redis.pipeline();
    for (const w of this.windows) p1.smembers(this.keys.nodes(w));
    const r1 = (await p1.exec()) ?? [];
    const p2 = this.redis.pipeline();
    let n = 0;
    r1.forEach(([err, ids], i) => {
      if (err) throw err;
      for (const id of ids as string[]) {
        p2.hget(this.keys.node(this.windows[i]!, id), F.count);
        n++;
      }
    });
    if (n === 0) return 0;
    let total = 0;
    for (const [err, v] of (await p2.exec()) ?? []) {
      if (err) throw err;
      total += Number(v ?? 0);
    }
    return total;
  }
}

export interface Verdict {
  ok: boolean;
  problems: string[];
  services: number;
  nodeWindows: number;
  edgeWindows: number;
}

/** Reads the windows back through the service's own reader and compares them with what was sent. */
export async function verifyTotals(redis: Redis, prefix: string, windowSeconds: number, expected: Expected, windows: readonly number[]): Promise<Verdict> {
  const reader = new AggregateReader(redis, keySpace(prefix), windowSeconds);
  const data = await reader.readWindows(windows[0]!, windows[windows.length - 1]! + windowSeconds, windows.length + 2);
  const problems: string[] = [];
  const perService = new Map<string, number>();
  const faults = new Map<string, number>();
  let edgeRequests = 0;
  let nodeWindows = 0;
  let edgeWindows = 0;
  for (const w of data) {
    let inWindow = 0;
    for (const [id, s] of w.nodes) {
      const name = parseNodeId(id).name;
      perService.set(name, (perService.get(name) ?? 0) + s.count);
      faults.set(name, (faults.get(name) ?? 0) + s.fault);
      inWindow += s.count;
      nodeWindows++;
    }
    for (const s of w.edges.values()) {
      edgeRequests += s.count;
      edgeWindows++;
    }
    const want = expected.perWindow.get(w.start) ?? 0;
    if (inWindow !== want) problems.push(`window ${w.start}: ${inWindow} segments counted, ${want} sent`);
  }
  for (const [name, want] of expected.perService) {
    const got = perService.get(name) ?? 0;
    if (got !== want) problems.push(`${name}: ${got} segments counted, ${want} sent`);
    const wantF = expected.faultsPerService.get(name) ?? 0;
    const gotF = faults.get(name) ?? 0;
    if (gotF !== wantF) problems.push(`${name}: ${gotF} faults counted, ${wantF} sent`);
  }
  for (const name of perService.keys()) if (!expected.perService.has(name)) problems.push(`${name}: counted but never sent`);
  if (edgeRequests !== expected.edgeRequests) problems.push(`edges: ${edgeRequests} requests counted, ${expected.edgeRequests} sent`);
  return { ok: problems.length === 0, problems, services: perService.size, nodeWindows, edgeWindows };
}
