import { readFileSync } from 'node:fs';
import peggy, { type parser as peggyParser } from 'peggy';
import { AppError } from '../../util/errors.js';
import { FLAG_KEYWORDS, NUMBER_KEYWORDS, STRING_KEYWORDS, type FilterAst } from './ast.js';
import { checkContexts } from './check.js';

/** Why an expression was refused: where (0-based offset, 1-based line/column) and what would have fitted. */
export interface FilterError {
  position: number;
  line: number;
  column: number;
  expected: string[];
  message: string;
}

export type ParseResult = { ok: true; ast: FilterAst } | { ok: false; error: FilterError };

// Generated once per process from the grammar file: no build step, and a broken grammar fails at import.
const parser = peggy.generate(readFileSync(new URL('./grammar.peggy', import.meta.url), 'utf8'), {
  allowedStartRules: ['Filter'],
});
const keywords = {
  flag: new Set<string>(FLAG_KEYWORDS),
  number: new Set<string>(NUMBER_KEYWORDS),
  string: new Set<string>(STRING_KEYWORDS),
};

/**
 * Parses an X-Ray filter expression. An empty or blank expression matches every trace. Errors are
 * returned, never thrown; their message reads like `at 1:14: expected a comparison operator, found "foo"`.
 */
export function parseFilter(text: string): ParseResult {
  let ast: FilterAst;
  try {
    ast = parser.parse(text, { keywords }) as FilterAst;
  } catch (e) {
    if (e instanceof parser.SyntaxError) return { ok: false, error: fromSyntaxError(text, e) };
    throw e;
  }
  const misplaced = checkContexts(ast);
  if (misplaced) {
    const { span, expected, message } = misplaced;
    return {
      ok: false,
      error: { position: span.start, line: span.line, column: span.column, expected, message: `at ${span.line}:${span.column}: ${message}` },
    };
  }
  return { ok: true, ast };
}

/** The API's answer to a bad expression. */
export function invalidFilterError(error: FilterError): AppError {
  return new AppError('InvalidRequestException', `Invalid filter expression ${error.message}`);
}

function fromSyntaxError(text: string, e: peggyParser.SyntaxError): FilterError {
  const { offset, line, column } = e.location.start;
  const where = `at ${line}:${column}`;
  // expected is null when an action called error() (an unterminated string, a repeated id() field…)
  if (e.expected === null) return { position: offset, line, column, expected: [], message: `${where}: ${e.message}` };
  const expected = [...new Set(e.expected.map(describe))].sort(byKind);
  return { position: offset, line, column, expected, message: `${where}: expected ${list(expected)}, found ${foundAt(text, offset)}` };
}

function describe(x: peggyParser.Expectation): string {
  switch (x.type) {
    case 'literal':
      return JSON.stringify(x.text);
    case 'other':
      return x.description;
    case 'end':
      return 'end of expression';
    case 'class':
      return 'a character';
    case 'any':
      return 'any character';
  }
}

// punctuation first, then words, then "end of expression": the order a reader scans for
const rank = (s: string) => (s.startsWith('"') ? 0 : s === 'end of expression' ? 2 : 1);
const byKind = (a: string, b: string) => rank(a) - rank(b) || a.localeCompare(b);

function list(items: string[]): string {
  if (items.length <= 1) return items[0] ?? 'nothing';
  return `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

// peggy reports one character; a reader recognises the whole token
function foundAt(text: string, offset: number): string {
  if (offset >= text.length) return 'end of expression';
  const rest = text.slice(offset);
  const token = /^[A-Za-z0-9_.-]+|^"(?:[^"\\]|\\.)*"?|^(?:!=|<=|>=)|^./s.exec(rest)?.[0] ?? rest.charAt(0);
  const shown = token.length > 40 ? `${token.slice(0, 40)}…` : token;
  // a string literal already carries its quotes
  return shown.startsWith('"') ? shown : JSON.stringify(shown);
}
