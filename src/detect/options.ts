/** Detection settings; every one is explained in the evidence it produces. */
export interface DetectOptions {
  /** Significance level of every one-sided test (a p-value below it is an anomaly). @defaultValue 1e-4 */
  alpha: number;
  /**
   * A window whose evidence is overwhelming opens an insight at once, without waiting for a second
   * window: a p-value below this, on a shift that affects at least `strongShare` of the window's
   * requests (so a blip shorter than half a window never does). @defaultValue 1e-9
   */
  alphaStrong: number;
  /** See `alphaStrong`. @defaultValue 0.5 */
  strongShare: number;
  /** Windows of recent history the baseline is learned from. @defaultValue 60 */
  historyWindows: number;
  /** Below this many history windows with traffic, a node is in cold start and nothing is flagged. @defaultValue 5 */
  minHistoryWindows: number;
  /** Fewer faults (or throttles) than this in a window is never an anomaly. @defaultValue 3 */
  minCount: number;
  /** A rate must exceed the baseline rate by at least this much (absolute) to matter. @defaultValue 0.01 */
  minRateIncrease: number;
  /**
   * Latency (a duration, an own time, a gap): the window's quantile must differ from the history's by at
   * least this factor to matter. @defaultValue 1.5
   */
  minLatencyRatio: number;
  /** ... and by at least this many milliseconds. @defaultValue 1 */
  minLatencyDeltaMs: number;
  /** Latency and call structure: at least this many requests in the window. @defaultValue 5 */
  minLatencySamples: number;
  /** Calls per request on an edge must change by at least this factor (either way) to matter. @defaultValue 1.5 */
  minCallsRatio: number;
  /** Days of same-time-of-day history needed before the daily profile is used. @defaultValue 3 */
  minSeasonalDays: number;
}

export const defaultDetectOptions: DetectOptions = Object.freeze({
  alpha: 1e-4,
  alphaStrong: 1e-9,
  strongShare: 0.5,
  historyWindows: 60,
  minHistoryWindows: 5,
  minCount: 3,
  minRateIncrease: 0.01,
  minLatencyRatio: 1.5,
  minLatencyDeltaMs: 1,
  minLatencySamples: 5,
  minCallsRatio: 1.5,
  minSeasonalDays: 3,
});

export function withDefaults(o: Partial<DetectOptions> = {}): DetectOptions {
  return Object.freeze({ ...defaultDetectOptions, ...o });
}
