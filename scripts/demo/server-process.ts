import { spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/trace-insights.js', import.meta.url));

export interface ServerProcess {
  child: ChildProcess;
  httpPort: number;
  udpPort: number;
  baseUrl: string;
  /** The last lines it logged, for a failure message. */
  tail(): string;
  /** SIGTERM (a graceful stop), then SIGKILL after `graceMs`; resolves once it is gone. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * `node bin/trace-insights.js start` — what `npm start` runs — on free ports, with the given settings
 * (environment variables from src/config/schema.ts; `args` for the rest, e.g. `--config <file>` for
 * settings no variable reaches). Resolves once it listens. Its JSON log lines go to `onLog` (parsed), so
 * the caller decides what a person should see. Used by the demo and the soak.
 */
export function startServerProcess(
  env: Record<string, string>,
  onLog: (rec: { level: number; msg: string; [k: string]: unknown }) => void,
  args: readonly string[] = [],
): Promise<ServerProcess> {
  const child = spawn(process.execPath, [BIN, 'start', ...args], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', UDP_PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const keep = (l: string) => {
    lines.push(l);
    if (lines.length > 60) lines.shift();
  };
  readline.createInterface({ input: child.stderr! }).on('line', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const tail = () => lines.join('\n');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`trace-insights did not start listening within 60 s:\n${tail()}`)), 60_000);
    void exited.then(() => reject(new Error(`trace-insights exited during start-up:\n${tail()}`)));
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      keep(line);
      let rec: { level: number; msg: string; httpPort?: number; udpPort?: number };
      try {
        rec = JSON.parse(line) as typeof rec;
      } catch {
        return;
      }
      if (rec.msg === 'listening' && rec.httpPort && rec.udpPort) {
        clearTimeout(timer);
        const { httpPort, udpPort } = rec;
        resolve({
          child,
          httpPort,
          udpPort,
          baseUrl: `http://127.0.0.1:${httpPort}`,
          tail,
          stop: async (graceMs = 15_000) => {
            if (child.exitCode !== null || child.signalCode !== null) return;
            child.kill('SIGTERM');
            const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
            await exited;
            clearTimeout(timer);
          },
        });
      }
      onLog(rec);
    });
  });
}
