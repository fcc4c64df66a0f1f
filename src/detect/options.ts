/** Detection settings; every one is explained in the evidence it produces. */
export interface DetectOptions {
  /** Significance level of every one-sided test (a p-value below it is an anomaly). @defaultValue 1e-4 */
  alpha: number;
  /** Windows of recent history the baseline is learned from. @defaultValue 60 */
  historyWindows: number;
  /** Below this many history windows with traffic, a node is in cold start and nothing is flagged. @defaultValue 5 */
  minHistoryWindows: number;
  /** Fewer faults (or throttles) than this in a window is never an anomaly. @defaultValue 3 */
  minCount: number;
  /** A rate must exceed the baseline rate by at least this much (absolute) to matter. @defaultValue 0.01 */
  minRateIncrease: number;
  /** Latency: the window's p90 must be at least this many times the baseline p90. @defaultValue 1.5 */
  minLatencyRatio: number;
  /** Latency: at least this many requests in the window. @defaultValue 5 */
  minLatencySamples: number;
  /** Days of same-time-of-day history needed before the daily profile is used. @defaultValue 3 */
  minSeasonalDays: number;
}

export const defaultDetectOptions: DetectOptions = Object.freeze({
  alpha: 1e-4,
  historyWindows: 60,
  minHistoryWindows: 5,
  minCount: 3,
  minRateIncrease: 0.01,
  minLatencyRatio: 1.5,
  minLatencySamples: 5,
  minSeasonalDays: 3,
});

export function withDefaults(o: Partial<DetectOptions> = {}): DetectOptions {
  return Object.freeze({ ...defaultDetectOptions, ...o });
}
