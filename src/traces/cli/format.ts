/** Small text helpers shared by the summary table and the trace timeline. */

/** Seconds → `123.4 ms`; `…` when unknown (in progress). */
export function ms(seconds: number | undefined): string {
  return seconds === undefined || !Number.isFinite(seconds) ? '…' : `${(seconds * 1000).toFixed(1)} ms`;
}

/** Epoch seconds → ISO 8601 in UTC, so two people reading the same trace see the same time. */
export function isoTime(epochSeconds: number | undefined): string {
  if (epochSeconds === undefined || !Number.isFinite(epochSeconds)) return '-';
  const d = new Date(Math.round(epochSeconds * 1000));
  return Number.isNaN(d.getTime()) ? '-' : d.toISOString();
}

/** FAULT, ERROR, THROTTLE as text; X-Ray counts a throttle as an error too, so THROTTLE stands for both. */
export function marks(o: { fault?: boolean; error?: boolean; throttle?: boolean }): string[] {
  const out: string[] = [];
  if (o.fault) out.push('FAULT');
  if (o.throttle) out.push('THROTTLE');
  else if (o.error) out.push('ERROR');
  return out;
}

/** One line, at most `max` characters. */
export function clip(s: string, max: number): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length <= max ? one : `${one.slice(0, Math.max(0, max - 1))}…`;
}

/** Rows of cells as left-aligned columns two spaces apart; `right` lists columns aligned right. The last column is not padded. */
export function columns(rows: readonly string[][], right: ReadonlySet<number> = new Set()): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 && !right.has(i) ? c : right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}
