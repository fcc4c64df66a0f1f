import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { AppError } from '../util/errors.js';

/** A case folder: recorded segments and the labels that say what is in them. */
export interface CaseFolder {
  /** the folder's name, or its path when two folders share a name */
  name: string;
  dir: string;
  segments: string;
  labels: string;
}

const SEGMENT_FILES = ['segments.ndjson.gz', 'segments.ndjson'];

function asCase(dir: string): Omit<CaseFolder, 'name'> | null {
  const labels = join(dir, 'labels.json');
  if (!existsSync(labels)) return null;
  const file = SEGMENT_FILES.find((f) => existsSync(join(dir, f)));
  return file ? { dir, segments: join(dir, file), labels } : null;
}

function walk(dir: string, out: Array<Omit<CaseFolder, 'name'>>, seen: Set<string>): void {
  const real = realpathSync(dir);
  // a symlink loop, or the same folder given twice, counts once
  if (seen.has(real)) return;
  seen.add(real);
  const c = asCase(dir);
  if (c) {
    out.push(c);
    return;
  }
  const entries = readdirSync(dir, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.') && e.name !== 'node_modules')
    .map((e) => join(dir, e.name))
    .filter((p) => statSync(p, { throwIfNoEntry: false })?.isDirectory())
    .sort();
  for (const p of entries) walk(p, out, seen);
}

/**
 * Every case folder under the given folders (each may itself be one): a folder holding labels.json and
 * segments.ndjson.gz or segments.ndjson. Sorted by path. Throws an AppError (`eval_args`) for a path that
 * is not a folder.
 */
export function findCases(dirs: readonly string[]): CaseFolder[] {
  const found: Array<Omit<CaseFolder, 'name'>> = [];
  const seen = new Set<string>();
  for (const d of dirs) {
    const st = statSync(d, { throwIfNoEntry: false });
    if (!st) throw new AppError('eval_args', `eval: ${d}: no such folder`);
    if (!st.isDirectory()) throw new AppError('eval_args', `eval: ${d} is not a folder`);
    walk(d, found, seen);
  }
  found.sort((a, b) => (a.dir < b.dir ? -1 : a.dir > b.dir ? 1 : 0));
  const count = new Map<string, number>();
  for (const c of found) count.set(basename(c.dir), (count.get(basename(c.dir)) ?? 0) + 1);
  return found.map((c) => ({ ...c, name: count.get(basename(c.dir))! > 1 ? relative(process.cwd(), c.dir) || c.dir : basename(c.dir) }));
}
