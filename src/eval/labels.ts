import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { AppError } from '../util/errors.js';

/**
 * Two formats name a root cause: the simulator writes `{name, type}` (a node of our service graph), the
 * Nezha dev set a plain service name. Only the name is scored, so both become a string here.
 */
const rootCauseSchema = z.union([z.string().min(1), z.object({ name: z.string().min(1), type: z.string().optional() })]).transform((r) => (typeof r === 'string' ? r : r.name));

const incidentSchema = z
  .object({
    id: z.string().min(1),
    kind: z.string().min(1),
    start: z.number(),
    end: z.number(),
    // an incident to ignore excuses insights but names nothing to find
    rootCause: rootCauseSchema.optional(),
    // the simulator's labels have no `expect`: everything it injects is meant to be found
    expect: z.enum(['detect', 'ignore']).default('detect'),
  })
  .refine((i) => i.end >= i.start, { message: 'end is before start', path: ['end'] })
  .refine((i) => i.expect === 'ignore' || i.rootCause !== undefined, { message: 'an incident to detect needs a rootCause', path: ['rootCause'] });

/** A labels file, simulator's or Nezha's; other fields (stats, sampling, nonIncidents, …) are not scored. */
export const labelsSchema = z
  .object({
    scenario: z.string().optional(),
    /** epoch seconds: first second of the data; with `end`, the hours false positives are counted over */
    start: z.number(),
    end: z.number(),
    incidents: z.array(incidentSchema),
  })
  .refine((l) => l.end > l.start, { message: 'end is not after start', path: ['end'] });

/** Labels as the scorer reads them: one shape whichever file they came from. */
export type CaseLabels = z.output<typeof labelsSchema>;
export type LabelledIncident = CaseLabels['incidents'][number];
/** What a labels file may hold before parsing (what the simulator writes is one of these). */
export type LabelsInput = z.input<typeof labelsSchema>;

/** Validates parsed JSON as labels; throws an AppError whose message is one line naming `source`. */
export function parseLabels(value: unknown, source: string): CaseLabels {
  const r = labelsSchema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const where = issue.path.length ? issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') : '(root)';
  throw new AppError('labels_invalid', `labels: ${source}: ${where}: ${issue.message}`);
}

/** Reads and validates a labels file (either format); one-line AppError naming the file when it is bad. */
export function readLabels(path: string): CaseLabels {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new AppError('labels_invalid', `labels: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new AppError('labels_invalid', `labels: ${path} is not JSON: ${(err as Error).message}`);
  }
  return parseLabels(value, path);
}
