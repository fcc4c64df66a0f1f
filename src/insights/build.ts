import type { Redis } from 'ioredis';
import type { Config } from '../config/schema.js';
import { AggregateReader } from '../aggregate/read.js';
import { keySpace } from '../aggregate/keys.js';
import { CloseGenerations } from '../aggregate/close-generations.js';
import { GraphCache } from '../detect/graph-cache.js';
import { WindowDetector } from '../detect/window-detector.js';
import { withDefaults } from '../detect/options.js';
import { CloseAndJudge } from './close-and-judge.js';
import { InsightEngine } from './engine.js';
import { InsightStore } from './store.js';
import { readExemplars } from '../aggregate/exemplars.js';

export const DEFAULT_GROUP = 'Default';

/** Detection and insights for a namespace, from the configuration; `closer` closes windows and judges them. */
export function createInsights(redis: Redis, cfg: Config, opts: { outbox?: boolean } = {}) {
  const keys = keySpace(cfg.keyPrefix);
  const reader = new AggregateReader(redis, keys, cfg.windowSeconds);
  const detector = new WindowDetector(reader, withDefaults(cfg.detect), new GraphCache(reader, new CloseGenerations(redis, keys)));
  const store = new InsightStore(redis, cfg.keyPrefix, cfg.insights.retentionSeconds, opts);
  const exemplars = (node: string, windows: readonly number[]) => readExemplars(redis, keys, node, windows);
  const engine = new InsightEngine(detector, store, { groupName: DEFAULT_GROUP, windowSeconds: cfg.windowSeconds, closeAfterWindows: cfg.insights.closeAfterWindows }, exemplars);
  const closer = new CloseAndJudge({ redis, keys, engine, store }, { windowSeconds: cfg.windowSeconds, allowedLatenessSeconds: cfg.allowedLatenessSeconds, retentionSeconds: cfg.retentionSeconds });
  return { reader, detector, store, engine, closer };
}
