import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configSchema, envMap, type Config } from './schema.js';
import { AppError } from '../util/errors.js';

const defaultPath = fileURLToPath(new URL('../../config/default.json', import.meta.url));

type Plain = Record<string, unknown>;

function readJson(path: string): Plain {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new AppError('config_invalid', `config: cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text) as Plain;
  } catch (err) {
    throw new AppError('config_invalid', `config: ${path} is not JSON: ${(err as Error).message}`);
  }
}

function merge(base: Plain, over: Plain): Plain {
  const out: Plain = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b)
        ? merge(b as Plain, v as Plain)
        : v;
  }
  return out;
}

function setPath(target: Plain, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const p of parts.slice(0, -1)) {
    node[p] = { ...((node[p] as Plain | undefined) ?? {}) };
    node = node[p] as Plain;
  }
  node[parts[parts.length - 1]!] = value;
}

export interface LoadConfigOptions {
  /** A JSON file layered over config/default.json (the CLI's --config). */
  file?: string;
  /** Environment to read; the composition root passes process.env. */
  env?: Record<string, string | undefined>;
  /** Values layered last (tests, replay). */
  overrides?: Plain;
}

/**
 * Builds the configuration: defaults, then the file, then the environment, then overrides.
 * Throws an AppError whose message is one line naming the key and the problem.
 */
export function loadConfig(opts: LoadConfigOptions = {}): Config {
  let raw = readJson(defaultPath);
  if (opts.file) raw = merge(raw, readJson(opts.file));
  const fromEnv: Plain = {};
  const sources = new Map<string, string>();
  for (const [name, path] of Object.entries(envMap)) {
    const v = opts.env?.[name];
    // Blank counts as unset: Number(' ') is 0, and PORT=' ' must not quietly mean "any free port".
    if (v !== undefined && v.trim() !== '') {
      setPath(fromEnv, path, v);
      sources.set(path, name);
    }
  }
  raw = merge(raw, fromEnv);
  if (opts.overrides) raw = merge(raw, opts.overrides);
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.join('.');
    const env = sources.get(path);
    const where = env ? `${path} (from ${env})` : path || '(root)';
    throw new AppError('config_invalid', `config: ${where}: ${issue.message}`);
  }
  return Object.freeze(parsed.data);
}
