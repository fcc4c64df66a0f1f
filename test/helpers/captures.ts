import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is test/helpers/captures.ts). */
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Golden captures: the real bytes of aws-xray-sdk-core and @aws-sdk/client-xray, copied from the team's
 * shared/captures into the repository so a fresh clone's tests need nothing beside it.
 */
export const capturesDir = path.resolve(repoRoot, 'test/fixtures/captures');

/** One raw datagram exactly as the SDK sent it. */
export interface CapturedDatagram {
  /** file name, or `udp-all-datagrams.jsonl#<n>` */
  name: string;
  /** the scenario the capture script was running, when known */
  scenario?: string;
  bytes: Buffer;
}

/** The verbatim `udp-*.txt` datagrams (exact bytes, no trailing newline). */
export function datagramFiles(): CapturedDatagram[] {
  return readdirSync(capturesDir)
    .filter((f) => /^udp-.*\.txt$/.test(f))
    .sort()
    .map((f) => ({ name: f, bytes: readFileSync(path.join(capturesDir, f)) }));
}

/** Every datagram of the full capture log, each tagged with the scenario that produced it. */
export function allDatagrams(): CapturedDatagram[] {
  const out: CapturedDatagram[] = [];
  let scenario: string | undefined;
  const lines = readFileSync(path.join(capturesDir, 'udp-all-datagrams.jsonl'), 'utf8').split('\n');
  for (const line of lines) {
    if (!line.trim()) continue;
    const o = JSON.parse(line) as { scenario?: string; n?: number; raw?: string };
    if (o.scenario !== undefined) scenario = o.scenario;
    if (o.raw !== undefined) {
      // `size` is not checked: it was logged before file paths in the stack traces were shortened.
      out.push({ name: `udp-all-datagrams.jsonl#${o.n}`, scenario, bytes: Buffer.from(o.raw, 'utf8') });
    }
  }
  return out;
}
