import { useEffect, useState } from 'preact/hooks';

/** A route of the console; trace search and the waterfall come with the trace API. */
export type Route =
  | { page: 'map' }
  | { page: 'insights' }
  | { page: 'insight'; id: string }
  | { page: 'traces' }
  | { page: 'trace'; id: string }
  | { page: 'not-found'; path: string };

export function matchRoute(path: string): Route {
  const p = path.replace(/\/+$/, '') || '/';
  if (p === '/' || p === '/map') return { page: 'map' };
  if (p === '/insights') return { page: 'insights' };
  let m = /^\/insights\/([\w-]{36})$/.exec(p);
  if (m) return { page: 'insight', id: m[1]! };
  if (p === '/traces') return { page: 'traces' };
  m = /^\/traces\/([\w-]+)$/.exec(p);
  if (m) return { page: 'trace', id: m[1]! };
  return { page: 'not-found', path };
}

const listeners = new Set<() => void>();

/** Goes to a console address without reloading (history API), or replaces the current one. */
export function navigate(href: string, replace = false): void {
  if (replace) history.replaceState(null, '', href);
  else history.pushState(null, '', href);
  for (const l of listeners) l();
}

/** The current location (path and query), re-rendering on navigation. */
export function useLocation(): { path: string; query: string } {
  const read = () => ({ path: location.pathname, query: location.search });
  const [loc, setLoc] = useState(read);
  useEffect(() => {
    const on = () => setLoc(read());
    listeners.add(on);
    addEventListener('popstate', on);
    return () => {
      listeners.delete(on);
      removeEventListener('popstate', on);
    };
  }, []);
  return loc;
}

/** Click handler for in-app links: plain clicks navigate in place, modified clicks open as usual. */
export function linkClick(e: MouseEvent): void {
  const a = (e.currentTarget as HTMLAnchorElement | null) ?? null;
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  navigate(a.getAttribute('href') ?? '/');
}
