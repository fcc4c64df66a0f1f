import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The parts of a V8 .cpuprofile (node --cpu-prof) this reads. */
interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }; children?: number[] }>;
  /** microseconds, the monotonic clock process.hrtime uses */
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Hot {
  name: string;
  where: string;
  selfMs: number;
  /** share of the non-idle time */
  pct: number;
}

export interface ProfileSummary {
  file: string;
  /** sampled time in the range, ms, idle excluded */
  busyMs: number;
  idleMs: number;
  /** whether the summary is restricted to the timed interval */
  ranged: boolean;
  functions: Hot[];
  /** self time by package (node_modules/<pkg>), source file (src/…), node internals, GC */
  areas: Hot[];
}

const root = process.cwd().replace(/\/$/, '') + '/';

function shortUrl(url: string): string {
  return url.replace(/^file:\/\//, '').replace(root, '');
}

const sources = new Map<string, string[] | null>();

/**
 * tsx hands V8 each TypeScript file as one line, so profiles say `file.ts:1` for everything; find the
 * line that defines the function in the source instead (by name: good enough to point at it).
 */
function definitionLine(url: string, name: string): number | undefined {
  const path = url.replace(/^file:\/\//, '');
  if (!/\.(ts|mts|tsx)$/.test(path) || name.startsWith('(') || !/^[\w$]+$/.test(name)) return undefined;
  let lines = sources.get(path);
  if (lines === undefined) {
    try {
      lines = readFileSync(path, 'utf8').split('\n');
    } catch {
      lines = null;
    }
    sources.set(path, lines);
  }
  if (!lines) return undefined;
  const def = new RegExp(`(function\\*?\\s+${name}\\b|\\b(const|let|var)\\s+${name}\\s*=|^\\s*(export\\s+)?(async\\s+)?(static\\s+)?((private|public|protected|readonly)\\s+)*(get\\s+|set\\s+)?${name}\\s*[(<=])`);
  const i = lines.findIndex((l) => def.test(l));
  return i < 0 ? undefined : i + 1;
}

function whereOf(url: string, lineNumber: number, columnNumber: number, name: string): string {
  if (!url) return '';
  const short = shortUrl(url);
  if (lineNumber === 0 && /\.(ts|mts|tsx)$/.test(url)) {
    const line = definitionLine(url, name);
    return line ? `${short}:${line}` : `${short} (col ${columnNumber + 1})`;
  }
  return `${short}:${lineNumber + 1}`;
}

function areaOf(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const u = shortUrl(url);
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u);
  if (nm) return nm[1]!;
  if (u.startsWith('node:')) return 'node:' + (u.slice(5).split('/')[0] ?? '');
  return u;
}

/**
 * Self time per function and per area, optionally only for samples taken in [fromUs, toUs] of the
 * monotonic clock, i.e. only while the benchmark's clock was running.
 */
export function summarizeProfile(file: string, top: number, range?: { fromUs: number; toUs: number }): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfByNode = new Map<number, number>();
  let t = p.startTime;
  let inRange = 0;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    // a sample stands for the time until the next one
    const dt = p.timeDeltas[i + 1] ?? 0;
    if (range && (t < range.fromUs || t > range.toUs)) continue;
    inRange++;
    selfByNode.set(p.samples[i]!, (selfByNode.get(p.samples[i]!) ?? 0) + dt);
  }
  const ranged = Boolean(range) && inRange > 0;
  if (range && !ranged) return summarizeProfile(file, top);
  const fns = new Map<string, Hot>();
  const areas = new Map<string, Hot>();
  let busy = 0;
  let idle = 0;
  for (const [id, us] of selfByNode) {
    const { functionName, url, lineNumber, columnNumber } = byId.get(id)!.callFrame;
    const name = functionName || '(anonymous)';
    if (name === '(idle)') {
      idle += us;
      continue;
    }
    busy += us;
    const where = whereOf(url, lineNumber, columnNumber, name);
    const key = `${name}@${where}`;
    const f = fns.get(key) ?? { name, where, selfMs: 0, pct: 0 };
    f.selfMs += us / 1000;
    fns.set(key, f);
    const area = areaOf(url, name);
    const a = areas.get(area) ?? { name: area, where: '', selfMs: 0, pct: 0 };
    a.selfMs += us / 1000;
    areas.set(area, a);
  }
  const rank = (m: Map<string, Hot>) =>
    [...m.values()]
      .map((h) => ({ ...h, pct: busy ? (100 * h.selfMs * 1000) / busy : 0 }))
      .sort((a, b) => b.selfMs - a.selfMs)
      .slice(0, top);
  return { file, busyMs: busy / 1000, idleMs: idle / 1000, ranged, functions: rank(fns), areas: rank(areas) };
}

/** The main thread's profile in a --cpu-prof-dir (CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile, tid 0), else the largest. */
export function mainProfileIn(dir: string): string | undefined {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  } catch {
    return undefined;
  }
  const main = files.filter((f) => f.split('.')[4] === '0');
  const pool = main.length ? main : files;
  const best = pool.map((f) => join(dir, f)).sort((a, b) => statSync(b).size - statSync(a).size)[0];
  return best;
}

export function formatProfile(label: string, s: ProfileSummary): string {
  const lines = [
    `${label}: ${s.file}`,
    `  ${s.ranged ? 'timed interval only' : 'whole process'}: busy ${(s.busyMs / 1000).toFixed(2)} s, idle ${(s.idleMs / 1000).toFixed(2)} s`,
    '  self time by function:',
    ...s.functions.map((h) => `    ${h.pct.toFixed(1).padStart(5)}%  ${h.selfMs.toFixed(0).padStart(7)} ms  ${h.name}  ${h.where}`),
    '  self time by area:',
    ...s.areas.slice(0, 15).map((h) => `    ${h.pct.toFixed(1).padStart(5)}%  ${h.selfMs.toFixed(0).padStart(7)} ms  ${h.name}`),
  ];
  return lines.join('\n');
}
