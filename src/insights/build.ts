import type { Redis } from 'ioredis';
import type { Config } from '../config/schema.js';
import { AggregateReader } from '../aggregate/read.js';
import { keySpace } from '../aggregate/keys.js';
import { WindowDetector } from '../detect/window-detector.js';
import { withDefaults } from '../detect/options.js';
import { InsightEngine } from './engine.js';
import { InsightStore } from './store.js';

export const DEFAULT_GROUP = 'Default';

/** Detection and insights for a namespace, from the configuration. */
export function createInsights(redis: Redis, cfg: Config, opts: { outbox?: boolean } = {}) {
  const reader = new AggregateReader(redis, keySpace(cfg.keyPrefix), cfg.windowSeconds);
  const detector = new WindowDetector(reader, withDefaults(cfg.detect));
  const store = new InsightStore(redis, cfg.keyPrefix, cfg.insights.retentionSeconds, opts);
  const engine = new InsightEngine(detector, store, { groupName: DEFAULT_GROUP, windowSeconds: cfg.windowSeconds, closeAfterWindows: cfg.insights.closeAfterWindows });
  return { reader, detector, store, engine };
}
