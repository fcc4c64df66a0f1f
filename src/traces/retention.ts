import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { FilterAst } from './filter/ast.js';
import { matches } from './filter/evaluate.js';
import { parseFilter, type FilterError } from './filter/parse.js';

/** Seconds without a new segment after which a trace counts as complete and retention decides on it. */
export const DEFAULT_TRACE_COMPLETE_SECONDS = 30;

/** One tail-based retention rule: traces matching `match` (X-Ray filter syntax; "" matches all) are kept with probability `keep`. */
export const retentionRuleSchema = z.object({
  match: z.string(),
  keep: z.number().min(0).max(1),
});

/** The ordered rule list; first match wins. Defaults to keeping every trace. */
export const retentionRulesSchema = z
  .array(retentionRuleSchema)
  .default(() => [{ match: '', keep: 1 }]);

export type RetentionRule = z.infer<typeof retentionRuleSchema>;

/** A rule whose filter is parsed once, so deciding per trace does not re-parse. */
export interface CompiledRule {
  readonly match: string;
  readonly keep: number;
  readonly ast: FilterAst;
}

/** Why a rule list was refused: which rule (0-based) and the filter's own parse error. */
export interface RuleError {
  rule: number;
  filter: FilterError;
  message: string;
}

export type CompileResult = { ok: true; rules: readonly CompiledRule[] } | { ok: false; error: RuleError };

/**
 * Parses every rule's filter. The first bad filter is returned as a value (not thrown) with its rule
 * index, position and what was expected, e.g. `rule 1 ("fault OR"): at 1:9: expected …`.
 */
export function compileRules(rules: readonly RetentionRule[]): CompileResult {
  const compiled: CompiledRule[] = [];
  for (const [i, rule] of rules.entries()) {
    const parsed = parseFilter(rule.match);
    if (!parsed.ok) {
      const message = `rule ${i} (${JSON.stringify(rule.match)}): ${parsed.error.message}`;
      return { ok: false, error: { rule: i, filter: parsed.error, message } };
    }
    compiled.push(Object.freeze({ match: rule.match, keep: rule.keep, ast: parsed.ast }));
  }
  return { ok: true, rules: Object.freeze(compiled) };
}

/** `rule` is the index of the winning rule, or {@link NO_RULE} when none matched (then the trace is kept). */
export interface Decision {
  keep: boolean;
  rule: number;
}

/** The `rule` of a decision made because no rule matched: keeping is the safe side. */
export const NO_RULE = -1;

/**
 * Whether to keep a complete trace. The first matching rule wins; its `keep` fraction is applied
 * through {@link traceFraction}, so every worker reaches the same answer for the same trace id
 * and, over many traces, the kept share is the rule's fraction.
 */
export function decide(rules: readonly CompiledRule[], traceId: string, documents: object[]): Decision {
  for (const [i, rule] of rules.entries()) {
    if (!matches(rule.ast, { documents })) continue;
    // Skipping the hash at the bounds makes 0 and 1 exact by construction, not by arithmetic.
    if (rule.keep >= 1) return { keep: true, rule: i };
    if (rule.keep <= 0) return { keep: false, rule: i };
    return { keep: traceFraction(traceId) < rule.keep, rule: i };
  }
  return { keep: true, rule: NO_RULE };
}

const TWO_POW_53 = 2 ** 53;

/**
 * A uniform, process-independent fraction in [0, 1) from a trace id: the first 8 bytes of its
 * SHA-256, of which the top 53 bits become the double (all a double can hold exactly).
 */
export function traceFraction(traceId: string): number {
  const bits = createHash('sha256').update(traceId, 'utf8').digest().readBigUInt64BE(0) >> 11n;
  return Number(bits) / TWO_POW_53;
}
