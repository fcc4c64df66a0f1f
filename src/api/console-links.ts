import type { InsightEvent } from '../insights/model.js';

/** The console page of an insight (the console's route `/insights/<id>`), under the service's public address. */
export function consoleInsightUrl(publicUrl: string, insightId: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/insights/${encodeURIComponent(insightId)}`;
}

/** Events as webhooks deliver them: each insight with its `consoleUrl` when a public address is set. */
export function withConsoleLinks<E extends InsightEvent>(events: readonly E[], publicUrl: string | null): E[] {
  if (!publicUrl) return [...events];
  return events.map((e) => ({ ...e, insight: { ...e.insight, consoleUrl: consoleInsightUrl(publicUrl, e.insight.id) } }));
}
