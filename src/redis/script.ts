import type { Redis } from 'ioredis';
import { luaSource } from './lua.js';

/** What a script is sent: its keys, then its arguments, in the order its KEYS/ARGV header says. */
export interface ScriptCall {
  keys: readonly string[];
  args: ReadonlyArray<string | number>;
}

/** A Lua command of ours: the ioredis command name it is defined as, its file, its number of keys. */
export interface ScriptDefinition {
  /** Command name on the connection (`tiClaim`), as typed in the `ioredis` module augmentation. */
  readonly name: string;
  /** `<command>-<numKeys>.lua`, in the folder given to {@link defineScripts}. */
  readonly file: string;
  /** Fixed number of keys; undefined for `-n` scripts, which are sent their number of keys first. */
  readonly numberOfKeys?: number;
}

/** A pipeline, as ioredis types it (pipeline.ts's type; not imported: pipeline.ts reaches connect.ts, which defines scripts). */
type Pipe = ReturnType<Redis['pipeline']>;

type Command = (...argv: Array<string | number>) => unknown;

/**
 * One Lua script with a typed face: named, typed arguments in (`A`), the decoded answer out (`R`). It
 * is the only place that knows the script's KEYS/ARGV order and its reply's shape, like BullMQ's
 * `scripts.ts`; call sites never pass positional arguments. Works on a connection (`run`) and in a
 * pipeline (`queue`), including pipeline.ts's slot-splitting one: the first key (or, for a `-n` script,
 * the number of keys then the first key) leads the command, which is how that pipeline finds its slot.
 */
export class Script<A, R> {
  constructor(
    readonly def: ScriptDefinition,
    private readonly encode: (a: A) => ScriptCall,
    private readonly decode: (reply: unknown, a: A) => R,
  ) {}

  /** The command's positional arguments. */
  argv(a: A): Array<string | number> {
    const { keys, args } = this.encode(a);
    if (this.def.numberOfKeys === undefined) return [keys.length, ...keys, ...args];
    if (keys.length !== this.def.numberOfKeys) throw new Error(`${this.def.file}: ${keys.length} keys given, ${this.def.numberOfKeys} expected`);
    return [...keys, ...args];
  }

  /** Runs the script on a connection (which {@link defineScripts} set up). */
  async run(redis: Redis, a: A): Promise<R> {
    return this.decode(await this.command(redis)(...this.argv(a)), a);
  }

  /** Adds the script to a pipeline; the function returned decodes its answer from the pipeline's result. */
  queue(pipe: Pipe, a: A): (reply: unknown) => R {
    this.command(pipe)(...this.argv(a));
    return (reply) => this.decode(reply, a);
  }

  private command(client: Redis | Pipe): Command {
    const f = (client as unknown as Record<string, Command | undefined>)[this.def.name];
    if (typeof f !== 'function') throw new Error(`${this.def.name}: not defined on this connection (define its scripts first)`);
    return f.bind(client);
  }
}

/** The answer as a number (integer replies). */
export const asNumber = (reply: unknown): number => Number(reply);

/**
 * Defines scripts on a connection as ioredis commands, includes expanded (lua.ts); once per connection
 * and set of scripts.
 * @param generated fragments made at load time, by name, for the scripts' `--!include` lines.
 */
export function defineScripts(redis: Redis, dir: URL, scripts: readonly ScriptDefinition[], done: WeakSet<Redis>, generated?: Readonly<Record<string, string>>): Redis {
  if (done.has(redis)) return redis;
  for (const def of scripts) {
    const lua = luaSource(dir, def.file, generated);
    redis.defineCommand(def.name, def.numberOfKeys === undefined ? { lua } : { lua, numberOfKeys: def.numberOfKeys });
  }
  done.add(redis);
  return redis;
}
