/**
 * `bench/results.json`: the latest figures of every benchmark, merged as each one finishes, with the
 * machine they were measured on. Each `*.bench.ts` calls `recordResults` with its own figures; the
 * runner (`bench/run.ts`) prints the table from the merged file.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const RESULTS_FILE = path.join(__dirname, 'results.json');

/** A benchmark's figures: numbers, nested by name (`{ handler: { eventsPerSec: 1 } }`). */
export interface Figures {
  readonly [name: string]: number | string | boolean | Figures;
}

export interface BenchResults {
  readonly machine: {
    readonly cpu: string;
    readonly cores: number;
    readonly memoryGiB: number;
    readonly platform: string;
    readonly node: string;
  };
  /** When each top-level figure was last measured, ISO-8601. */
  readonly measuredAt: Readonly<Record<string, string>>;
  readonly figures: Figures;
}

function machine(): BenchResults['machine'] {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
  };
}

function isFigures(value: unknown): value is Figures {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function merge(into: Figures, from: Figures): Figures {
  const merged: Record<string, Figures[string]> = { ...into };
  for (const [key, value] of Object.entries(from)) {
    const existing = merged[key];
    merged[key] = isFigures(value) && isFigures(existing) ? merge(existing, value) : value;
  }
  return merged;
}

export function readResults(file = RESULTS_FILE): BenchResults | undefined {
  if (!fs.existsSync(file)) return undefined;
  return JSON.parse(fs.readFileSync(file, 'utf8')) as BenchResults;
}

/** Merges `figures` into the results file, stamping each of their top-level names with the time. */
export function recordResults(figures: Figures, file = RESULTS_FILE, now = new Date()): BenchResults {
  const previous = readResults(file);
  const measuredAt = { ...previous?.measuredAt };
  for (const key of Object.keys(figures)) measuredAt[key] = now.toISOString();
  const results: BenchResults = {
    machine: machine(),
    measuredAt,
    figures: merge(previous?.figures ?? {}, figures),
  };
  fs.writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  return results;
}

/** Reads a figure by its dotted path (`handler.eventsPerSec`), if it is a number. */
export function figureAt(figures: Figures, dotted: string): number | undefined {
  let at: Figures[string] = figures;
  for (const part of dotted.split('.')) {
    if (!isFigures(at)) return undefined;
    at = at[part];
  }
  return typeof at === 'number' ? at : undefined;
}
