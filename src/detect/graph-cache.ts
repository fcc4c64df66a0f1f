import type { AggregateReader, Graph } from '../aggregate/read.js';
import { buildGraph } from '../aggregate/read.js';
import type { CloseGenerations } from '../aggregate/close-generations.js';

interface Entry {
  graph: Graph;
  /** close generations of the window and its neighbours when it was read */
  stamp: string;
}

/**
 * Window graphs a detector judges with, kept between windows (each window's history is mostly the previous
 * window's, shifted by one). An entry is served only while the close generations it was read under still
 * hold: late data re-opens a window and it is closed again, by this process or any other, and the next
 * request reads it anew. A graph also takes link evidence from its neighbours, so their generations count.
 * Generations are read before the data: a close in between leaves an older stamp, so a re-read, never a
 * stale hit.
 */
export class GraphCache {
  private entries = new Map<number, Entry>();

  constructor(
    private readonly reader: AggregateReader,
    private readonly generations: CloseGenerations,
  ) {}

  /**
   * The graphs of these windows (start times), each from its own window's data. Keeps only these
   * afterwards: the next request (the next window's) shares most of them, and nothing else is worth memory.
   */
  async get(starts: readonly number[]): Promise<Map<number, Graph>> {
    const W = this.reader.windowSeconds;
    const wanted = [...new Set(starts)].sort((a, b) => a - b);
    const gens = await this.generations.read(wanted.flatMap((s) => [s - W, s, s + W]));
    const stampOf = (s: number) => `${gens.get(s - W)}:${gens.get(s)}:${gens.get(s + W)}`;
    const missing = wanted.filter((s) => this.entries.get(s)?.stamp !== stampOf(s));
    // contiguous runs in one range each, all runs at once
    const runs: Array<[number, number]> = [];
    for (let i = 0; i < missing.length; ) {
      let j = i;
      while (j + 1 < missing.length && missing[j + 1]! - missing[j]! === W) j++;
      runs.push([missing[i]!, missing[j]!]);
      i = j + 1;
    }
    await Promise.all(
      runs.map(async ([a, b]) => {
        const { windows, evidence } = await this.reader.readRange(a, b + W);
        const byStart = new Map(windows.map((x) => [x.start, x]));
        for (let s = a; s <= b; s += W) {
          const data = byStart.get(s);
          this.entries.set(s, { graph: buildGraph(data ? [data] : [], evidence), stamp: stampOf(s) });
        }
      }),
    );
    const keep = new Set(wanted);
    for (const s of this.entries.keys()) if (!keep.has(s)) this.entries.delete(s);
    const out = new Map<number, Graph>();
    for (const s of wanted) out.set(s, this.entries.get(s)!.graph);
    return out;
  }
}
