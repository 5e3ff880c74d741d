/**
 * `bench/results.json`: the latest figures of every benchmark, merged as each one finishes, with the
 * machine they were measured on. Each `*.bench.ts` calls `recordResults` with its own figures; the
 * runner (`bench/run.ts`) prints the table from the merged file.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { formatCount } from './stats';

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

/**
 * Merges `figures` into the results file, stamping each of their top-level names with the time.
 * `replace`: each top-level figure replaces what was recorded under its name (so figures a
 * benchmark no longer measures do not linger); the default merges into it.
 */
export function recordResults(
  figures: Figures,
  file = RESULTS_FILE,
  now = new Date(),
  mode: 'merge' | 'replace' = 'merge',
): BenchResults {
  const previous = readResults(file);
  const measuredAt = { ...previous?.measuredAt };
  for (const key of Object.keys(figures)) measuredAt[key] = now.toISOString();
  const results: BenchResults = {
    machine: machine(),
    measuredAt,
    figures:
      mode === 'replace' ? { ...previous?.figures, ...figures } : merge(previous?.figures ?? {}, figures),
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

/** One line of the summary: a figure, and the target for it where there is one. */
interface SummaryRow {
  readonly figure: string;
  readonly value: (figures: Figures) => number | undefined;
  readonly unit: string;
  readonly target?: { readonly text: string; readonly met: (value: number) => boolean };
}

const at = (dotted: string) => (figures: Figures) => figureAt(figures, dotted);
const quotient = (a: string, b: string) => (figures: Figures) => {
  const x = figureAt(figures, a);
  const y = figureAt(figures, b);
  return x === undefined || y === undefined || y === 0 ? undefined : x / y;
};

const SUMMARY: readonly SummaryRow[] = [
  { figure: 'handler.eventsPerSec', value: at('handler.eventsPerSec'), unit: 'events/s' },
  { figure: 'ceiling.eventsPerSec', value: at('ceiling.eventsPerSec'), unit: 'events/s' },
  {
    figure: 'handler.ratio',
    value: at('handler.ratio'),
    unit: '',
    target: { text: '>= 0.5', met: (v) => v >= 0.5 },
  },
  { figure: 'dynamo.updatesPer1000Events', value: at('dynamo.updatesPer1000Events'), unit: '' },
  { figure: 'naive.updatesPer1000Events', value: at('naive.updatesPer1000Events'), unit: '' },
  {
    figure: 'dynamo / naive updates',
    value: (f) => {
      const q = quotient('dynamo.updatesPer1000Events', 'naive.updatesPer1000Events')(f);
      return q === undefined ? undefined : q * 100;
    },
    unit: '%',
    target: { text: '<= 2 %', met: (v) => v <= 2 },
  },
  {
    figure: 'local.valueAlertLatencyMs.p99',
    value: at('local.valueAlertLatencyMs.p99'),
    unit: 'ms',
    target: { text: '<= 2000 ms at 1,000 events/s', met: (v) => v <= 2000 },
  },
  {
    figure: 'local.aggregateStalenessMs.p99',
    value: at('local.aggregateStalenessMs.p99'),
    unit: 'ms',
    target: { text: '<= 60000 ms at 1,000 events/s', met: (v) => v <= 60_000 },
  },
  {
    figure: 'local.fresh.aggregateStalenessMs.p99',
    value: at('local.fresh.aggregateStalenessMs.p99'),
    unit: 'ms',
    target: { text: '<= 2000 ms at 1,000 events/s', met: (v) => v <= 2000 },
  },
  {
    figure: 'local.realCardinality.maxSustainedEventsPerSec',
    value: at('local.realCardinality.maxSustainedEventsPerSec'),
    unit: 'events/s',
    target: { text: '>= 2,000 at 10,000 series', met: (v) => v >= 2000 },
  },
  {
    figure: 'local.realCardinality.dynamoWritesPerEvent',
    value: at('local.realCardinality.dynamoWritesPerEvent'),
    unit: '',
  },
  { figure: 'batch.eventsPerSec', value: at('batch.eventsPerSec'), unit: 'events/s' },
  { figure: 'naiveBatch.eventsPerSec', value: at('naiveBatch.eventsPerSec'), unit: 'events/s' },
  {
    figure: 'batch / naiveBatch',
    value: quotient('batch.eventsPerSec', 'naiveBatch.eventsPerSec'),
    unit: 'x',
    target: { text: '>= 10x', met: (v) => v >= 10 },
  },
];

function formatValue(value: number): string {
  if (Math.abs(value) >= 100) return formatCount(value);
  return Number(value.toPrecision(3)).toString();
}

/** The summary table printed by `npm run bench`: every headline figure, its target and whether it is met. */
export function summaryTable(results: BenchResults): string {
  const rows = SUMMARY.map((row) => {
    const value = row.value(results.figures);
    const shown = value === undefined ? 'not measured' : `${formatValue(value)} ${row.unit}`.trim();
    const verdict =
      row.target === undefined || value === undefined ? '' : row.target.met(value) ? 'met' : 'MISSED';
    return [row.figure, shown, row.target?.text ?? '', verdict];
  });
  const header = ['figure', 'value', 'target', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  const { machine } = results;
  return [
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    `machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.platform}, Node ${machine.node}`,
  ].join('\n');
}
