/**
 * Min-heap of items keyed by a number, ties broken by insertion order, so the documents of
 * overlapping requests come out sorted by start_time, the same way on every run.
 */
export class TimeHeap<T> {
  private keys: number[] = [];
  private seqs: number[] = [];
  private items: T[] = [];
  private seq = 0;

  get size(): number {
    return this.items.length;
  }

  /** Smallest key, or Infinity when empty. */
  peekKey(): number {
    return this.items.length ? this.keys[0]! : Infinity;
  }

  push(key: number, item: T): void {
    const { keys, seqs, items } = this;
    const seq = this.seq++;
    let i = items.length;
    keys.push(key);
    seqs.push(seq);
    items.push(item);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (keys[p]! < key || (keys[p] === key && seqs[p]! < seq)) break;
      keys[i] = keys[p]!;
      seqs[i] = seqs[p]!;
      items[i] = items[p]!;
      i = p;
    }
    keys[i] = key;
    seqs[i] = seq;
    items[i] = item;
  }

  pop(): T | undefined {
    const { keys, seqs, items } = this;
    const n = items.length;
    if (n === 0) return undefined;
    const top = items[0]!;
    const lastKey = keys.pop()!;
    const lastSeq = seqs.pop()!;
    const last = items.pop()!;
    if (n > 1) {
      const m = n - 1;
      let i = 0;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= m) break;
        if (c + 1 < m && (keys[c + 1]! < keys[c]! || (keys[c + 1] === keys[c] && seqs[c + 1]! < seqs[c]!))) c++;
        if (lastKey < keys[c]! || (lastKey === keys[c] && lastSeq < seqs[c]!)) break;
        keys[i] = keys[c]!;
        seqs[i] = seqs[c]!;
        items[i] = items[c]!;
        i = c;
      }
      keys[i] = lastKey;
      seqs[i] = lastSeq;
      items[i] = last;
    }
    return top;
  }
}
