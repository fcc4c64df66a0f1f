import { InsightPage } from './pages/insight-page.js';
import { InsightsPage } from './pages/insights-page.js';
import { MapPage } from './pages/map-page.js';
import { TracePage } from './pages/trace-page.js';
import { TracesPage } from './pages/traces-page.js';
import { linkClick, matchRoute, useLocation } from './router.js';

const NAV = [
  { href: '/', label: 'Service map', pages: ['map'] },
  { href: '/insights', label: 'Insights', pages: ['insights', 'insight'] },
  { href: '/traces', label: 'Traces', pages: ['traces', 'trace'] },
];

export function App() {
  const loc = useLocation();
  const route = matchRoute(loc.path);
  return (
    <>
      <a class="skip" href="#content">Skip to content</a>
      <header class="topbar">
        <span class="brand">trace-insights</span>
        <nav aria-label="Console">
          {NAV.map((n) => (
            <a href={n.href} onClick={linkClick} aria-current={n.pages.includes(route.page) ? 'page' : undefined}>
              {n.label}
            </a>
          ))}
        </nav>
      </header>
      <div id="content">
        {route.page === 'map' && <MapPage query={loc.query} />}
        {route.page === 'insights' && <InsightsPage query={loc.query} />}
        {route.page === 'insight' && <InsightPage key={route.id} id={route.id} />}
        {route.page === 'traces' && <TracesPage query={loc.query} />}
        {route.page === 'trace' && <TracePage key={route.id} id={route.id} />}
        {route.page === 'not-found' && (
          <main>
            <h1>Not found</h1>
            <p>The console has no page at {route.path}.</p>
          </main>
        )}
      </div>
    </>
  );
}
