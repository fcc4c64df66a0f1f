import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { envMap } from '../../src/config/schema.js';
import { AppError } from '../../src/util/errors.js';
import { repoRoot } from '../helpers/captures.js';

const defaults = JSON.parse(readFileSync(path.join(repoRoot, 'config/default.json'), 'utf8')) as Record<string, unknown>;
const dir = mkdtempSync(path.join(tmpdir(), 'ti-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: unknown): string {
  const p = path.join(dir, name);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
}

/** The AppError loadConfig throws, so a test can check the one line a user would read. */
function failure(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected loadConfig to throw');
}

function at(obj: unknown, dotted: string): unknown {
  return dotted.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], obj);
}

describe('loadConfig', () => {
  it('with nothing else, is config/default.json', () => {
    const cfg = loadConfig();
    expect(cfg).toEqual(defaults);
    expect(cfg.port).toBe(2000);
    expect(cfg.udpPort).toBe(2000);
    expect(cfg.redisUrl).toBeNull();
  });

  it('returns a frozen object', () => {
    expect(Object.isFrozen(loadConfig())).toBe(true);
  });

  it('layers a file over the defaults, merging nested objects key by key', () => {
    const cfg = loadConfig({ file: file('over.json', { windowSeconds: 10, batch: { maxWaitMs: 50 } }) });
    expect(cfg.windowSeconds).toBe(10);
    expect(cfg.batch).toEqual({ maxSegments: 1000, maxWaitMs: 50 });
    expect(cfg.allowedLatenessSeconds).toBe(30);
  });

  it('loads config/example.json (the documented override)', () => {
    const cfg = loadConfig({ file: path.join(repoRoot, 'config/example.json') });
    expect(cfg.windowSeconds).toBe(10);
    expect(cfg.batch.maxSegments).toBe(1000);
  });

  it('lets environment variables override the file, coercing numbers', () => {
    const cfg = loadConfig({
      file: file('env.json', { windowSeconds: 10, port: 3000 }),
      env: { WINDOW_SECONDS: '30', BATCH_MAX_SEGMENTS: '100', HOST: '0.0.0.0', REDIS_URL: 'redis://cache:6380/2', LOG_LEVEL: 'warn' },
    });
    expect(cfg.windowSeconds).toBe(30);
    expect(cfg.port).toBe(3000);
    expect(cfg.batch).toEqual({ maxSegments: 100, maxWaitMs: 200 });
    expect(cfg.host).toBe('0.0.0.0');
    expect(cfg.redisUrl).toBe('redis://cache:6380/2');
    expect(cfg.logLevel).toBe('warn');
  });

  it('ignores empty environment variables', () => {
    expect(loadConfig({ env: { PORT: '', WINDOW_SECONDS: '' } }).port).toBe(2000);
  });

  it('applies overrides last', () => {
    const cfg = loadConfig({ env: { WINDOW_SECONDS: '30' }, overrides: { windowSeconds: 5, batch: { maxSegments: 7 } } });
    expect(cfg.windowSeconds).toBe(5);
    expect(cfg.batch).toEqual({ maxSegments: 7, maxWaitMs: 200 });
  });

  it('maps every environment variable to a setting that exists', () => {
    for (const [name, dotted] of Object.entries(envMap)) expect(at(defaults, dotted), name).not.toBeUndefined();
    expect(Object.keys(envMap)).toEqual(expect.arrayContaining(['REDIS_URL', 'PORT', 'UDP_PORT', 'HOST', 'WINDOW_SECONDS']));
  });

  it('reports a bad environment value in one line naming the key and the variable', () => {
    const err = failure(() => loadConfig({ env: { WINDOW_SECONDS: 'abc' } }));
    expect(err.code).toBe('config_invalid');
    expect(err.message).toContain('windowSeconds');
    expect(err.message).toContain('WINDOW_SECONDS');
    expect(err.message).not.toContain('\n');
  });

  it('names nested keys and their variables too', () => {
    const err = failure(() => loadConfig({ env: { BATCH_MAX_SEGMENTS: '0' } }));
    expect(err.message).toContain('batch.maxSegments');
    expect(err.message).toContain('BATCH_MAX_SEGMENTS');
    expect(err.message).not.toContain('\n');
  });

  it.each([
    ['PORT', '70000', 'port'],
    ['LOG_LEVEL', 'loud', 'logLevel'],
    ['KEY_PREFIX', 'has space', 'keyPrefix'],
    ['REDIS_URL', 'not a url', 'redisUrl'],
    ['WORKER_CONCURRENCY', '1.5', 'worker.concurrency'],
  ])('refuses %s=%s', (name, value, key) => {
    const err = failure(() => loadConfig({ env: { [name]: value } }));
    expect(err.message).toContain(key);
    expect(err.message).toContain(name);
    expect(err.message).not.toContain('\n');
  });

  it('treats a blank environment variable as unset rather than as 0', () => {
    // Number('  ') is 0: without care PORT=" " would silently mean "any free port".
    expect(loadConfig({ env: { PORT: '  ', UDP_PORT: '\t' } }).port).toBe(2000);
  });

  it('reports a bad file value naming the key', () => {
    const err = failure(() => loadConfig({ file: file('bad.json', { allowedLatenessSeconds: -1 }) }));
    expect(err.message).toContain('allowedLatenessSeconds');
    expect(err.message).not.toContain('\n');
  });

  it('refuses unknown keys (a typo must not be silently ignored)', () => {
    const err = failure(() => loadConfig({ file: file('typo.json', { windowSecond: 10 }) }));
    expect(err.message).toContain('windowSecond');
    expect(err.message).not.toContain('\n');
  });

  it('reports an unreadable or non-JSON file in one line naming the file', () => {
    const missing = path.join(dir, 'nope.json');
    const e1 = failure(() => loadConfig({ file: missing }));
    expect(e1.message).toContain(missing);
    const broken = file('broken.json', '{"port": 1,');
    const e2 = failure(() => loadConfig({ file: broken }));
    expect(e2.message).toContain(broken);
    expect(e2.message).not.toContain('\n');
  });
});
