import { PRESETS, formatDuration, type TimeRange } from '../lib/time-axis.js';

const toInput = (t: number) => new Date(t * 1000 - new Date(t * 1000).getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
const fromInput = (s: string) => Math.floor(new Date(s).getTime() / 1000);

/** Presets that follow the clock (live, refreshed every 10 s) and a fixed from–to range in local time. */
export function RangePicker(props: { range: TimeRange; onChange: (r: TimeRange) => void; updatedAt?: number | null }) {
  const { range, onChange } = props;
  const preset = range.live ? String(range.last ?? 900) : 'custom';
  return (
    <div class="range" role="group" aria-label="Time range">
      <label>
        Range{' '}
        <select
          value={preset}
          onChange={(e) => {
            const v = (e.currentTarget as HTMLSelectElement).value;
            if (v === 'custom') onChange({ from: range.from, to: range.to, live: false });
            else onChange({ from: range.to - Number(v), to: range.to, live: true, last: Number(v) });
          }}
        >
          {PRESETS.map((p) => (
            <option value={String(p.seconds)}>{p.label}</option>
          ))}
          <option value="custom">Fixed range…</option>
        </select>
      </label>
      {!range.live && (
        <>
          <label>
            from <input type="datetime-local" value={toInput(range.from)} onChange={(e) => onChange({ ...range, from: fromInput((e.currentTarget as HTMLInputElement).value) })} />
          </label>
          <label>
            to <input type="datetime-local" value={toInput(range.to)} onChange={(e) => onChange({ ...range, to: fromInput((e.currentTarget as HTMLInputElement).value) })} />
          </label>
        </>
      )}
      <span class="muted" aria-live="polite">
        {range.live ? `live, last ${formatDuration(range.last ?? 900)}` : `${formatDuration(range.to - range.from)} fixed`}
        {props.updatedAt ? ` · updated ${new Date(props.updatedAt).toLocaleTimeString()}` : ''}
      </span>
    </div>
  );
}
