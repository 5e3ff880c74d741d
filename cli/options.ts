/**
 * Parsers for command-line values. Each throws commander's `InvalidArgumentError`, so a bad value is
 * reported as one line naming the option, the value and what is allowed.
 */
import { InvalidArgumentError } from 'commander';
import { formatDuration, parseDuration } from '../core/duration';

export function integerOption(min: number, max: number): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      throw new InvalidArgumentError(`must be an integer between ${min} and ${max}.`);
    }
    return parsed;
  };
}

export function numberOption(min: number, max: number): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (value.trim() === '' || !Number.isFinite(parsed) || parsed < min || parsed > max) {
      throw new InvalidArgumentError(`must be a number between ${min} and ${max}.`);
    }
    return parsed;
  };
}

/** A probability: `0.01` or `1%`. */
export function rateOption(value: string): number {
  const percent = value.trim().endsWith('%');
  const parsed = Number(percent ? value.trim().slice(0, -1) : value);
  const fraction = percent ? parsed / 100 : parsed;
  if (value.trim() === '' || !Number.isFinite(fraction) || fraction < 0 || fraction > 1) {
    throw new InvalidArgumentError(
      'must be a fraction between 0 and 1 (e.g. 0.01) or a percentage (e.g. 1%).',
    );
  }
  return fraction;
}

/** A duration in milliseconds: `90s`, `5m`, `1h`. */
export function durationOption(minMs: number, maxMs: number): (value: string) => number {
  return (value) => {
    const ms = parseDuration(value);
    if (ms === undefined || ms < minMs || ms > maxMs) {
      throw new InvalidArgumentError(
        `must be a duration like "30s", "5m" or "1h" between ${formatDuration(minMs)} and ${formatDuration(maxMs)}.`,
      );
    }
    return ms;
  };
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A calendar date `YYYY-MM-DD` (UTC). */
export function dayOption(value: string): string {
  const match = DAY.exec(value.trim());
  const ms = match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : NaN;
  if (!match || !Number.isFinite(ms) || new Date(ms).toISOString().slice(0, 10) !== value.trim()) {
    throw new InvalidArgumentError('must be a calendar date YYYY-MM-DD.');
  }
  return value.trim();
}

export function choiceOption<T extends string>(choices: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(choices as readonly string[]).includes(value)) {
      throw new InvalidArgumentError(`must be one of ${choices.join(', ')}.`);
    }
    return value as T;
  };
}
