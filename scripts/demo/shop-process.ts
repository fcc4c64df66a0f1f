import { spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const APP = fileURLToPath(new URL('./shop-app.ts', import.meta.url));

/** What the shop app reports on stdout (see shop-app.ts). */
export type ShopMessage =
  | { type: 'ready'; rate: number; services: string[]; dependencies: string[] }
  | { type: 'traffic'; requests: number; ok: number; errors: number; faults: number; from: number; to: number }
  | { type: 'incident'; target: string | null; rate: number; at: number }
  | { type: 'stopped'; sent: number };

export interface ShopOptions {
  /** the X-Ray daemon address the SDK sends to, e.g. `127.0.0.1:2000` */
  daemonAddress: string;
  /** client requests per second @defaultValue 20 */
  rate?: number;
  /** seconds between traffic reports @defaultValue 10 */
  reportSeconds?: number;
  onMessage?: (m: ShopMessage) => void;
}

export interface ShopProcess {
  readonly child: ChildProcess;
  /** Resolves with the next message of this type that arrives from now on. */
  next<T extends ShopMessage['type']>(type: T, timeoutMs?: number): Promise<Extract<ShopMessage, { type: T }>>;
  /** Adds `rate` to the fault probability of a service or dependency; resolves when it took effect. */
  fault(target: string, rate: number): Promise<Extract<ShopMessage, { type: 'incident' }>>;
  /** Ends every incident. */
  clear(): Promise<Extract<ShopMessage, { type: 'incident' }>>;
  /** Stops the load and waits for the process to exit; idempotent. */
  stop(): Promise<void>;
  /** stderr so far, for failure messages */
  errors(): string;
}

/** Starts the demo shop (scripts/demo/shop-app.ts) as a child process sending to `daemonAddress`. */
export async function startShop(o: ShopOptions): Promise<ShopProcess> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_XRAY_DAEMON_ADDRESS: o.daemonAddress,
    SHOP_RATE: String(o.rate ?? 20),
    SHOP_REPORT_SECONDS: String(o.reportSeconds ?? 10),
  };
  // a test runner's variables would make the child think it is one of its workers
  for (const k of Object.keys(env)) if (k.startsWith('VITEST')) delete env[k];
  const child = spawn(process.execPath, ['--import', 'tsx', APP], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-20000)));
  const waiters: Array<{ type: string; resolve: (m: ShopMessage) => void }> = [];
  readline.createInterface({ input: child.stdout! }).on('line', (line) => {
    let m: ShopMessage;
    try {
      m = JSON.parse(line) as ShopMessage;
    } catch {
      return;
    }
    o.onMessage?.(m);
    for (let i = 0; i < waiters.length; i++) {
      if (waiters[i]!.type === m.type) {
        waiters.splice(i, 1)[0]!.resolve(m);
        break;
      }
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const next = <T extends ShopMessage['type']>(type: T, timeoutMs = 30_000) =>
    new Promise<Extract<ShopMessage, { type: T }>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`shop: no "${type}" message within ${timeoutMs} ms\n${stderr}`)), timeoutMs);
      const w = {
        type,
        resolve: (m: ShopMessage) => {
          clearTimeout(timer);
          resolve(m as Extract<ShopMessage, { type: T }>);
        },
      };
      waiters.push(w);
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`shop exited before "${type}"\n${stderr}`));
      });
    });
  const send = (cmd: unknown) => child.stdin!.write(JSON.stringify(cmd) + '\n');
  const ready = next('ready', 60_000);
  await ready;
  let stopping: Promise<void> | undefined;
  return {
    child,
    next,
    fault: (target, rate) => {
      const done = next('incident');
      send({ fault: { target, rate } });
      return done;
    },
    clear: () => {
      const done = next('incident');
      send({ clear: true });
      return done;
    },
    stop: () =>
      (stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        send({ stop: true });
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      })()),
    errors: () => stderr,
  };
}
