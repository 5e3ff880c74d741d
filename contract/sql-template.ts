/**
 * The batch SQL's one parameter convention, shared by the CDK app (which embeds the SQL in the Step
 * Functions definition at synth time) and the local DuckDB runner.
 *
 * A parameter is written `{{name}}` (lowercase letters, digits and `_`) and replaced by its value
 * before the query runs; string values go inside SQL quotes in the file (`'{{day}}'`). Values are
 * restricted to dates, integers and similar plain tokens (`[A-Za-z0-9_.:-]`), so a substituted value
 * can never close a quote or start a statement.
 *
 * Saved queries for people (`sql/queries/`) use Athena's own `?` execution parameters instead, which
 * the Athena console prompts for.
 *
 * This module imports neither CDK nor DuckDB.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from './user-error';

/** Where the `.sql` files live. */
export const SQL_DIR = path.join(__dirname, '..', 'sql');

const PLACEHOLDER = /\{\{([a-z][a-z0-9_]*)\}\}/g;
const SAFE_VALUE = /^[A-Za-z0-9_.:-]*$/;
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 86_400_000;

/** Raised for a template that cannot be rendered: a missing or unsafe value, or a bad day. */
export class SqlTemplateError extends UserError {
  public override readonly name = 'SqlTemplateError';
}

export type SqlParams = Readonly<Record<string, string | number>>;

/** Reads `sql/<file>` as UTF-8 text, exactly as stored. */
export function readSql(file: string): string {
  return fs.readFileSync(path.join(SQL_DIR, file), 'utf8');
}

/** The parameter names a template uses, in order of first appearance. */
export function placeholders(text: string): string[] {
  return [...new Set([...text.matchAll(PLACEHOLDER)].map((m) => m[1]))];
}

function checkValue(name: string, value: string | number): string {
  const text = String(value);
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    throw new SqlTemplateError(`SQL parameter ${name}: got ${text}; numbers must be safe integers`);
  }
  if (!SAFE_VALUE.test(text)) {
    throw new SqlTemplateError(
      `SQL parameter ${name}: got ${JSON.stringify(text)}; values may only contain letters, digits and _ . : -`,
    );
  }
  return text;
}

/**
 * Replaces every `{{name}}` in `text` with its value. With `partial`, placeholders without a value
 * stay in place (for the CDK app, which fills the day in at run time); otherwise each one must have
 * a value. Values for names the template does not use are ignored.
 */
export function renderSql(text: string, params: SqlParams, options: { partial?: boolean } = {}): string {
  const values = new Map(Object.entries(params).map(([name, value]) => [name, checkValue(name, value)]));
  const missing = placeholders(text).filter((name) => !values.has(name));
  if (missing.length > 0 && !options.partial) {
    throw new SqlTemplateError(
      `SQL parameters without a value: ${missing.map((n) => `{{${n}}}`).join(', ')}`,
    );
  }
  return text.replace(PLACEHOLDER, (whole, name: string) => values.get(name) ?? whole);
}

/** Epoch milliseconds of midnight UTC of `day` (`YYYY-MM-DD`); throws for anything else. */
export function dayStartMs(day: string): number {
  const match = DAY.exec(day);
  const ms = match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : NaN;
  if (!match || !Number.isFinite(ms) || formatDay(ms) !== day) {
    throw new SqlTemplateError(`day: got ${JSON.stringify(day)}; must be a calendar date YYYY-MM-DD`);
  }
  return ms;
}

/** The UTC date (`YYYY-MM-DD`) of an instant. */
export function formatDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The day after `day`. */
export function nextDay(day: string): string {
  return formatDay(dayStartMs(day) + DAY_MS);
}

/** Every day from `from` to `to`, both included; throws if `to` is before `from`. */
export function daysBetween(from: string, to: string): string[] {
  const start = dayStartMs(from);
  const end = dayStartMs(to);
  if (end < start) throw new SqlTemplateError(`to: got ${to}; must not be before from (${from})`);
  const days: string[] = [];
  for (let ms = start; ms <= end; ms += DAY_MS) days.push(formatDay(ms));
  return days;
}

/** The parameters of the daily batch SQL for one day. */
export function batchParams(day: string, maxClockSkewMs: number): SqlParams {
  return { day: formatDay(dayStartMs(day)), next_day: nextDay(day), max_clock_skew_ms: maxClockSkewMs };
}

/**
 * A JSONata expression (without the `{% %}` delimiters) that yields `text` with the remaining
 * placeholders replaced at run time: `runtime` maps each placeholder name to a JSONata expression,
 * e.g. `{ day: '$day' }`. Placeholders with a value in `fixed` are rendered now.
 *
 * The SQL travels as a JSONata string literal (JSON escaping), so the state machine definition holds
 * the text of `sql/` verbatim, not a second copy that could drift.
 */
export function jsonataSqlExpression(
  text: string,
  fixed: SqlParams,
  runtime: Readonly<Record<string, string>>,
): string {
  const rendered = renderSql(text, fixed, { partial: true });
  const unbound = placeholders(rendered).filter((name) => !(name in runtime));
  if (unbound.length > 0) {
    throw new SqlTemplateError(
      `SQL parameters without a value: ${unbound.map((n) => `{{${n}}}`).join(', ')}`,
    );
  }
  // Step Functions reads a field as JSONata when it starts with `{%` and ends with `%}`.
  if (rendered.includes('{%') || rendered.includes('%}')) {
    throw new SqlTemplateError(
      'SQL text must not contain "{%" or "%}" (JSONata delimiters in Step Functions)',
    );
  }
  let expression = JSON.stringify(rendered);
  for (const name of placeholders(rendered)) {
    expression = `$replace(${expression}, ${JSON.stringify(`{{${name}}}`)}, ${runtime[name]})`;
  }
  return expression;
}
