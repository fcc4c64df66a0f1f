import { useEffect, useState } from 'preact/hooks';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** GET a JSON document from our own API; an error answer becomes an ApiError with the server's message. */
export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const r = await fetch(path, { headers: { accept: 'application/json' }, signal });
  const text = await r.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON: reported below */
  }
  if (!r.ok) {
    const msg = (body as { error?: { message?: string }; message?: string } | null)?.error?.message ?? (body as { message?: string } | null)?.message ?? text.slice(0, 200);
    throw new ApiError(r.status, `${r.status}: ${msg || r.statusText}`);
  }
  return body as T;
}

export interface Fetched<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  /** wall-clock ms of the last successful answer */
  at: number | null;
}

/**
 * Fetches `path` whenever it changes. The last answer stays on screen while the next is on its way (a
 * live page changes its path every refresh); a failed fetch shows its error next to the last data.
 * Components showing a different thing (another node) are keyed, so they start empty.
 */
export function useJson<T>(path: string | null): Fetched<T> & { reload: () => void } {
  const [state, setState] = useState<Fetched<T>>({ data: null, error: null, loading: path !== null, at: null });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (path === null) return;
    const ctl = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    getJson<T>(path, ctl.signal).then(
      (data) => setState({ data, error: null, loading: false, at: Date.now() }),
      (err: unknown) => {
        if (ctl.signal.aborted) return;
        setState((s) => ({ ...s, loading: false, error: err instanceof Error ? err.message : String(err) }));
      },
    );
    return () => ctl.abort();
  }, [path, tick]);
  return { ...state, reload: () => setTick((n) => n + 1) };
}

/** The wall clock in epoch seconds, ticking every `everyMs` while `live` (a live range follows it). */
export function useNow(live: boolean, everyMs = 10_000): number {
  const [now, setNow] = useState(() => Math.floor(Date.now() / 1000));
  useEffect(() => {
    if (!live) return;
    setNow(Math.floor(Date.now() / 1000));
    const t = setInterval(() => setNow(Math.floor(Date.now() / 1000)), everyMs);
    return () => clearInterval(t);
  }, [live, everyMs]);
  return now;
}

/** POST a JSON body to one of the X-Ray read operations (they are POSTs, and read-only). */
export async function postJson<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> {
  const r = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body), signal });
  const text = await r.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    /* reported below */
  }
  if (!r.ok) {
    const msg = (parsed as { message?: string; Message?: string } | null)?.message ?? (parsed as { Message?: string } | null)?.Message ?? text.slice(0, 300);
    throw new ApiError(r.status, `${r.status}: ${msg || r.statusText}`);
  }
  return parsed as T;
}
