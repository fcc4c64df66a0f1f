import dgram from 'node:dgram';
import type { Logger } from 'pino';
import type { Intake } from './intake.js';
import type { Metrics } from '../obs/metrics.js';

export interface UdpOptions {
  host: string;
  port: number;
  receiveBufferBytes: number;
  /** While this says why, datagrams are dropped (the ingest backlog is over its limit)… */
  refusal?: () => string | undefined;
  /** …and counted here. */
  onThrottled?: () => void;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Splits a daemon-protocol datagram: a JSON header line, `\n`, one document (reference §3.1).
 * Returns the document text or the reason the datagram is dropped.
 */
export function splitDatagram(buf: Buffer): { body: string } | { drop: string } {
  const nl = buf.indexOf(0x0a);
  if (nl < 0) return { drop: 'missing_header' };
  let header: unknown;
  let body: string;
  try {
    header = JSON.parse(decoder.decode(buf.subarray(0, nl)));
    body = decoder.decode(buf.subarray(nl + 1)).trim();
  } catch (err) {
    return { drop: err instanceof TypeError ? 'invalid_utf8' : 'bad_header' };
  }
  const h = header as { format?: unknown; version?: unknown } | null;
  if (!h || typeof h.format !== 'string' || h.format.toLowerCase() !== 'json' || h.version !== 1) return { drop: 'bad_header' };
  if (!body) return { drop: 'empty_body' };
  return { body };
}

/** The X-Ray daemon's UDP door. A bad datagram is counted and dropped, never fatal. */
export class UdpListener {
  private socket?: dgram.Socket;

  constructor(
    private readonly opts: UdpOptions,
    private readonly intake: Intake,
    private readonly log: Logger,
    private readonly metrics?: Metrics,
  ) {}

  async start(): Promise<number> {
    const socket = dgram.createSocket({ type: this.opts.host.includes(':') ? 'udp6' : 'udp4', recvBufferSize: this.opts.receiveBufferBytes });
    this.socket = socket;
    socket.on('message', (msg) => this.onMessage(msg));
    socket.on('error', (err) => this.log.error({ err }, 'udp socket error'));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.opts.port, this.opts.host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    try {
      socket.setRecvBufferSize(this.opts.receiveBufferBytes);
    } catch (err) {
      this.log.warn({ err }, 'could not enlarge the UDP receive buffer (raise net.core.rmem_max)');
    }
    return socket.address().port;
  }

  private onMessage(msg: Buffer): void {
    // nothing to answer over UDP: the daemon protocol has no way to say "later"
    if (this.opts.refusal?.() !== undefined) {
      this.opts.onThrottled?.();
      return;
    }
    const split = splitDatagram(msg);
    if ('drop' in split) {
      this.metrics?.datagramsDropped.inc({ reason: split.drop });
      return;
    }
    const r = this.intake.submit('udp', [split.body]);
    if (r.rejections.length) this.log.debug({ rejection: r.rejections[0] }, 'udp document refused');
    r.queued.catch((err) => {
      this.metrics?.datagramsDropped.inc({ reason: 'queue_unavailable' });
      this.log.warn({ err: (err as Error).message }, 'udp batch could not be queued');
    });
  }

  /** Stops receiving; idempotent. */
  async close(): Promise<void> {
    const s = this.socket;
    this.socket = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
