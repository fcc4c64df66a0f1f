/**
 * Every webhook key lives under one hash tag `{<prefix>:h}`, so the Lua scripts that move a delivery
 * through its states (delivery, its group, its subscription, the log) touch a single slot. The layout
 * below is the only place the key names are written: {@link notifyKeys} builds them for TypeScript,
 * and {@link notifyKeysLua} turns the same templates into the Lua functions the scripts build the keys
 * they derive from a delivery's fields with (`key_group(tag, sub, ins)`, as BullMQ's scripts do from a
 * prefix), included into every webhook script at load time.
 */
export interface NotifyKeys {
  /** `{<prefix>:h}:` — the scripts' key prefix */
  readonly tag: string;
  /** set of subscription ids */
  subs(): string;
  /** hash: one subscription, its secret and its delivery state */
  sub(id: string): string;
  /** hash: one delivery (one event for one subscription) */
  delivery(id: string): string;
  /** list: the last attempts of a delivery */
  attempts(id: string): string;
  /** sorted set: a subscription's deliveries by creation time (the delivery log) */
  log(subId: string): string;
  /** list: deliveries of one insight to one subscription, in event order; the head is the one in flight */
  group(subId: string, insightId: string): string;
  /** sorted set: non-empty groups by last activity (for the sweep) */
  groups(): string;
  /** string: an event's JSON, shared by its deliveries */
  event(key: string): string;
}

type KeyName = Exclude<keyof NotifyKeys, 'tag'>;

/** Each key's name after the tag; `{param}` stands for an argument, in the order of the function's. */
const LAYOUT: Readonly<Record<KeyName, string>> = {
  subs: 'subs',
  sub: 'sub:{id}',
  delivery: 'd:{id}',
  attempts: 'da:{id}',
  log: 'dl:{subId}',
  group: 'g:{subId}:{insightId}',
  groups: 'groups',
  event: 'ev:{key}',
};

/** A template as literal parts and parameter names, alternating (literal first). */
function parse(template: string): { literals: string[]; params: string[] } {
  const literals: string[] = [];
  const params: string[] = [];
  let rest = template;
  for (let m = /\{(\w+)\}/.exec(rest); m; m = /\{(\w+)\}/.exec(rest)) {
    literals.push(rest.slice(0, m.index));
    params.push(m[1]!);
    rest = rest.slice(m.index + m[0].length);
  }
  literals.push(rest);
  return { literals, params };
}

const templates = Object.entries(LAYOUT).map(([name, t]) => ({ name: name as KeyName, ...parse(t) }));

export function notifyKeys(prefix: string): NotifyKeys {
  const tag = `{${prefix}:h}:`;
  const keys: Record<string, unknown> = { tag };
  for (const { name, literals } of templates) {
    keys[name] = (...args: string[]) => {
      let s = tag + literals[0];
      for (let i = 1; i < literals.length; i++) s += args[i - 1] + literals[i]!;
      return s;
    };
  }
  return keys as unknown as NotifyKeys;
}

const luaString = (s: string) => `'${s.replace(/[\\']/g, '\\$&')}'`;

/**
 * The layout as Lua: `local function key_<name>(tag, <params>) return tag .. '<literal>' .. <param> … end`
 * for each key, for the webhook scripts' `--!include notify-keys.lua`.
 */
export function notifyKeysLua(): string {
  const lines = ['-- notify-keys.lua: generated from src/notify/keys.ts (the webhook key layout); do not write key names by hand'];
  for (const { name, literals, params } of templates) {
    const parts = ['tag'];
    literals.forEach((l, i) => {
      if (l) parts.push(luaString(l));
      if (i < params.length) parts.push(params[i]!);
    });
    lines.push(`local function key_${name}(${['tag', ...params].join(', ')}) return ${parts.join(' .. ')} end`);
  }
  return lines.join('\n');
}
