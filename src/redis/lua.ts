import { readFileSync } from 'node:fs';

/**
 * Lua sources with includes. A line `--!include <name>.lua` is replaced, when the script is loaded, by
 * the fragment of that name: a generated one the caller passes (made from TypeScript, so that one
 * module owns what both languages need, such as a key layout), or the file `include/<name>.lua` next to
 * the script. Fragments may include others; each is expanded once per script (a second include of the
 * same fragment is dropped, so two fragments may share a third). Scripts are sent whole (EVALSHA of
 * the expanded text): Redis has no includes of its own.
 */
const INCLUDE = /^--!include ([A-Za-z0-9_.-]+\.lua)[ \t]*$/gm;

/**
 * The text of script `file` in folder `dir`, includes expanded.
 * @param generated fragments made at load time, by name (`notify-keys.lua`); they win over files.
 */
export function luaSource(dir: URL, file: string, generated: Readonly<Record<string, string>> = {}): string {
  const done = new Set<string>();
  const expand = (text: string, chain: readonly string[]): string =>
    text.replace(INCLUDE, (_line, name: string) => {
      if (chain.includes(name)) throw new Error(`lua: ${[...chain, name].join(' → ')} includes itself`);
      if (done.has(name)) return `-- (${name} included above)`;
      done.add(name);
      const body = generated[name] ?? readFileSync(new URL(`include/${name}`, dir), 'utf8');
      return expand(body.replace(/\n$/, ''), [...chain, name]);
    });
  return expand(readFileSync(new URL(file, dir), 'utf8'), [file]);
}
