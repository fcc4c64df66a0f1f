import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { luaSource } from '../../src/redis/lua.js';

/** A folder of scripts with an include/ folder, as the loader expects. */
function scripts(files: Record<string, string>): URL {
  const dir = mkdtempSync(join(tmpdir(), 'lua-'));
  mkdirSync(join(dir, 'include'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return pathToFileURL(`${dir}/`);
}

describe('Lua includes', () => {
  it('replace an include line by the fragment, once per script, generated fragments first', () => {
    const dir = scripts({
      'a-1.lua': '--!include f.lua\n--!include g.lua\nreturn f() + g()\n',
      'include/f.lua': '--!include h.lua\nlocal function f() return h() end\n',
      'include/g.lua': '--!include h.lua\nlocal function g() return h() end\n',
      'include/h.lua': 'local function h() return 1 end\n',
    });
    expect(luaSource(dir, 'a-1.lua')).toBe(
      'local function h() return 1 end\nlocal function f() return h() end\n-- (h.lua included above)\nlocal function g() return h() end\nreturn f() + g()\n',
    );
    expect(luaSource(dir, 'a-1.lua', { 'h.lua': 'local function h() return 2 end' })).toContain('return 2');
  });

  it('refuse a fragment that includes itself', () => {
    const dir = scripts({ 'a-1.lua': '--!include f.lua\n', 'include/f.lua': '--!include g.lua\n', 'include/g.lua': '--!include f.lua\n' });
    expect(() => luaSource(dir, 'a-1.lua')).toThrow(/includes itself/);
  });

  it('leave a script without includes as it is', () => {
    const dir = scripts({ 'a-1.lua': '-- a comment\n-- !include x.lua\nreturn 1\n' });
    expect(luaSource(dir, 'a-1.lua')).toBe('-- a comment\n-- !include x.lua\nreturn 1\n');
  });
});
