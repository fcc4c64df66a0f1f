import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import type { Intake, IntakeResult } from './intake.js';
import type { Rejection } from './parse.js';

/**
 * The programmatic door for files (replay uses it): NDJSON with one segment document per line, or X-Ray
 * BatchGetTraces output (`{"Traces":[{"Segments":[{"Document":"…"}]}]}`, whole or one response per
 * line), either of them gzipped. Documents X-Ray inferred itself (`"inferred": true`) are skipped: the
 * service graph infers those nodes from the callers' subsegments, as for live traffic.
 */

export interface FileDocument {
  text: string;
  /** where it came from, for error messages: `file:line` */
  source: string;
}

async function isGzip(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(2);
    const { bytesRead } = await fh.read(buf, 0, 2, 0);
    return bytesRead === 2 && buf[0] === 0x1f && buf[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

async function openText(path: string): Promise<Readable> {
  const raw = createReadStream(path);
  return (await isGzip(path)) ? raw.pipe(createGunzip()) : raw;
}

function* fromBatchGetTraces(value: unknown, source: string): Generator<FileDocument> {
  const traces = (value as { Traces?: unknown }).Traces;
  if (!Array.isArray(traces)) return;
  for (const t of traces) {
    const segments = (t as { Segments?: unknown })?.Segments;
    if (!Array.isArray(segments)) continue;
    for (const s of segments) {
      const doc = (s as { Document?: unknown })?.Document;
      if (typeof doc !== 'string') continue;
      if (isInferred(doc)) continue;
      yield { text: doc, source };
    }
  }
}

/** Lines of a text stream (\n or \r\n), without the line ends; faster than node:readline for big files. */
async function* linesOf(input: Readable): AsyncGenerator<string> {
  input.setEncoding('utf8');
  let rest = '';
  for await (const chunk of input as AsyncIterable<string>) {
    const text = rest ? rest + chunk : chunk;
    let from = 0;
    for (let nl = text.indexOf('\n', from); nl >= 0; nl = text.indexOf('\n', from)) {
      const end = nl > from && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      yield text.slice(from, end);
      from = nl + 1;
    }
    rest = text.slice(from);
  }
  if (rest) yield rest.endsWith('\r') ? rest.slice(0, -1) : rest;
}

const isInferred = (doc: string) => doc.includes('"inferred"') && /"inferred"\s*:\s*true/.test(doc);

/** Reads the documents of one file, in file order. */
export async function* readTraceFile(path: string): AsyncGenerator<FileDocument> {
  const lines = linesOf(await openText(path));
  let lineNo = 0;
  let whole: string[] | undefined;
  for await (const line of lines) {
    lineNo++;
    if (whole) {
      whole.push(line);
      continue;
    }
    const trimmed = line.trim();
    if (!trimmed) continue;
    // one JSON value per line: a document, or a BatchGetTraces response
    if (trimmed.startsWith('{"Traces"') || (trimmed.startsWith('{') && trimmed.includes('"Traces"') && !trimmed.includes('"trace_id"'))) {
      let value: unknown;
      try {
        value = JSON.parse(trimmed);
      } catch {
        whole = [line];
        continue;
      }
      yield* fromBatchGetTraces(value, `${path}:${lineNo}`);
      continue;
    }
    if (lineNo === 1 && (trimmed === '{' || trimmed === '[' || !trimmed.endsWith('}'))) {
      // pretty-printed JSON spanning lines: read it whole
      whole = [line];
      continue;
    }
    if (isInferred(trimmed)) continue;
    yield { text: trimmed, source: `${path}:${lineNo}` };
  }
  if (whole) {
    const text = whole.join('\n');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new Error(`${path}: neither NDJSON nor a JSON document: ${(err as Error).message}`);
    }
    if (Array.isArray(value)) {
      for (const [i, d] of value.entries()) yield { text: JSON.stringify(d), source: `${path}[${i}]` };
    } else yield* fromBatchGetTraces(value, path);
  }
}

export interface FileIngestResult {
  documents: number;
  accepted: number;
  rejections: Array<Rejection & { source: string }>;
}

/**
 * Sends files through the intake in chunks, waiting for each chunk to be queued before reading on, so
 * memory stays flat however large the input.
 */
export async function ingestFiles(intake: Intake, paths: readonly string[], opts: { chunk?: number; onProgress?: (documents: number) => void } = {}): Promise<FileIngestResult> {
  const chunk = opts.chunk ?? 1000;
  const out: FileIngestResult = { documents: 0, accepted: 0, rejections: [] };
  let texts: string[] = [];
  let sources: string[] = [];
  let inFlight: Promise<void> | undefined;
  const send = async () => {
    if (!texts.length) return;
    const r: IntakeResult = intake.submit('file', texts);
    const srcs = sources;
    out.documents += texts.length;
    out.accepted += r.accepted;
    for (const { index, ...rej } of r.rejections) out.rejections.push({ ...rej, source: srcs[index] ?? '' });
    texts = [];
    sources = [];
    // keep one chunk queuing while the next is read
    if (inFlight) await inFlight;
    inFlight = r.queued;
    opts.onProgress?.(out.documents);
  };
  for (const p of paths) {
    for await (const d of readTraceFile(p)) {
      texts.push(d.text);
      sources.push(d.source);
      if (texts.length >= chunk) await send();
    }
  }
  await send();
  if (inFlight) await inFlight;
  return out;
}
