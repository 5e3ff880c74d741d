/**
 * An independent recomputation of what a replay of an event file must produce, written from the
 * contract in DESIGN.md rather than from the pipeline's code (it imports nothing from core/, lambdas/
 * or local/): validation and event-time windows (by the contract oracle, contract-oracle.ts),
 * per-event alert rules with a two-way cooldown, the batch layer's deduplicated events and
 * per-hour/day statistics.
 *
 * Values in the test files have two decimals, so sums are computed exactly in hundredths.
 */
import { createHash } from 'node:crypto';
import { check, windowStartsOf, type OracleEvent } from './contract-oracle';

export interface WindowDef {
  readonly name: string;
  readonly sizeMs: number;
  readonly hopMs: number;
}

export interface ValueRuleDef {
  readonly id: string;
  readonly metric: string;
  readonly op: '>' | '>=' | '<' | '<=';
  readonly threshold: number;
  readonly cooldownMs: number;
  readonly severity: string;
}

export interface RecomputeOptions {
  readonly windows: readonly WindowDef[];
  readonly valueRules: readonly ValueRuleDef[];
  readonly latenessMs: number;
  readonly maxClockSkewMs: number;
  /** Processing time the speed layer saw (the test keeps events far from the late/future limits). */
  readonly processingMs: number;
  /** UTC date the records arrived in the stream. */
  readonly arrivalDay: string;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const day = (ms: number): string => iso(ms).slice(0, 10);
const cents = (v: number): number => Math.round(v * 100);
/** The outputs' rounding: 12 significant digits. */
export const round12 = (x: number): number => (Number.isFinite(x) && x !== 0 ? Number(x.toPrecision(12)) : x);

function quantileCont(sorted: readonly number[], q: number): number {
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - lower);
}

function stats(values: readonly number[]): Record<string, number | null> {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const variance = n > 1 ? values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1) : NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return {
    event_count: n,
    avg_value: mean,
    min_value: sorted[0],
    max_value: sorted[n - 1],
    stddev_value: n > 1 ? Math.sqrt(variance) : null,
    p50_value: quantileCont(sorted, 0.5),
    p95_value: quantileCont(sorted, 0.95),
  };
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export interface Expected {
  readonly summary: {
    lines: number;
    valid: number;
    invalid: number;
    late: number;
    itemsWritten: number;
    alerts: number;
  };
  readonly aggregates: Array<Record<string, unknown>>;
  readonly alerts: Array<Record<string, unknown>>;
  readonly quarantine: Array<{ reason: string; data: string }>;
  readonly tables: Record<string, Array<Record<string, unknown>>>;
}

export function recompute(lines: readonly string[], options: RecomputeOptions): Expected {
  const speed: OracleEvent[] = [];
  const quarantine: Array<{ reason: string; data: string }> = [];
  const batchCandidates: OracleEvent[] = [];
  let late = 0;
  for (const line of lines) {
    const result = check(line, options.processingMs, options.maxClockSkewMs);
    if (!result.ok) {
      quarantine.push({ reason: result.reason, data: line });
      continue;
    }
    batchCandidates.push(result.event);
    if (result.event.eventTime < options.processingMs - options.latenessMs) late++;
    else speed.push(result.event);
  }

  // Speed layer: every valid, non-late record (duplicates included) in every covering window.
  const items = new Map<
    string,
    {
      sensorId: string;
      metric: string;
      window: string;
      start: number;
      end: number;
      count: number;
      cents: number;
      min: number;
      max: number;
    }
  >();
  for (const e of speed) {
    for (const w of options.windows) {
      for (const start of windowStartsOf(e.eventTime, w)) {
        const key = `${e.sensorId}|${e.metric}|${w.name}|${start}`;
        const item = items.get(key) ?? {
          sensorId: e.sensorId,
          metric: e.metric,
          window: w.name,
          start,
          end: start + w.sizeMs,
          count: 0,
          cents: 0,
          min: Infinity,
          max: -Infinity,
        };
        item.count++;
        item.cents += cents(e.value);
        item.min = Math.min(item.min, e.value);
        item.max = Math.max(item.max, e.value);
        items.set(key, item);
      }
    }
  }
  const aggregates = [...items.values()]
    .sort(
      (a, b) =>
        compare(a.sensorId, b.sensorId) ||
        compare(a.metric, b.metric) ||
        compare(a.window, b.window) ||
        a.start - b.start,
    )
    .map((i) => ({
      sensorId: i.sensorId,
      metric: i.metric,
      window: i.window,
      windowStart: iso(i.start),
      windowEnd: iso(i.end),
      count: i.count,
      sum: round12(i.cents / 100),
      min: i.min,
      max: i.max,
      avg: round12(round12(i.cents / 100) / i.count),
    }));

  // Per-event rules, greedy in stream order per (sensor, rule): an alert unless one lies within the cooldown.
  const alerts: Array<Record<string, unknown>> = [];
  const times = new Map<string, number[]>();
  const fires = (v: number, op: ValueRuleDef['op'], t: number): boolean =>
    op === '>' ? v > t : op === '>=' ? v >= t : op === '<' ? v < t : v <= t;
  for (const e of speed) {
    for (const rule of options.valueRules) {
      if (rule.metric !== e.metric || !fires(e.value, rule.op, rule.threshold)) continue;
      const key = `${e.sensorId}|${rule.id}`;
      const previous = times.get(key) ?? [];
      if (previous.some((t) => t === e.eventTime || Math.abs(t - e.eventTime) < rule.cooldownMs)) continue;
      times.set(key, [...previous, e.eventTime]);
      const identity = [rule.id, e.sensorId, e.metric, 'value', e.eventTime, e.eventId];
      alerts.push({
        alertId: createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 32),
        ruleId: rule.id,
        sensorId: e.sensorId,
        metric: e.metric,
        severity: rule.severity,
        value: e.value,
        threshold: rule.threshold,
        eventTime: iso(e.eventTime),
      });
    }
  }
  alerts.sort(
    (a, b) =>
      compare(String(a.eventTime), String(b.eventTime)) ||
      compare(String(a.sensorId), String(b.sensorId)) ||
      compare(String(a.ruleId), String(b.ruleId)) ||
      compare(String(a.alertId), String(b.alertId)),
  );

  // Batch layer: day D holds valid events of D that arrived on D or D+1, the first copy of each id.
  const previousDay = day(Date.parse(`${options.arrivalDay}T00:00:00Z`) - 86_400_000);
  const firstCopies = new Map<string, OracleEvent>();
  for (const e of batchCandidates) {
    const d = day(e.eventTime);
    if (d !== options.arrivalDay && d !== previousDay) continue;
    if (!firstCopies.has(e.eventId)) firstCopies.set(e.eventId, e);
  }
  const events = [...firstCopies.values()]
    .map((e) => ({
      event_id: e.eventId,
      sensor_id: e.sensorId,
      metric: e.metric,
      value: e.value,
      unit: e.unit ?? null,
      event_time: iso(e.eventTime),
      attributes: e.attributes
        ? Object.fromEntries(Object.entries(e.attributes).sort((a, b) => compare(a[0], b[0])))
        : null,
      dt: day(e.eventTime),
    }))
    .sort(
      (a, b) =>
        compare(a.dt, b.dt) ||
        compare(a.sensor_id, b.sensor_id) ||
        compare(a.metric, b.metric) ||
        compare(a.event_time, b.event_time) ||
        compare(a.event_id, b.event_id),
    );
  const group = (
    keyOf: (e: (typeof events)[number]) => string,
  ): Map<string, Array<(typeof events)[number]>> => {
    const groups = new Map<string, Array<(typeof events)[number]>>();
    for (const e of events) groups.set(keyOf(e), [...(groups.get(keyOf(e)) ?? []), e]);
    return groups;
  };
  const hourOf = (t: string): string => `${t.slice(0, 13)}:00:00.000Z`;
  const hourly = [...group((e) => `${e.dt}|${e.sensor_id}|${e.metric}|${hourOf(e.event_time)}`).values()].map(
    (list) => ({
      sensor_id: list[0].sensor_id,
      metric: list[0].metric,
      hour_start: hourOf(list[0].event_time),
      ...stats(list.map((e) => e.value)),
      dt: list[0].dt,
    }),
  );
  hourly.sort(
    (a, b) =>
      compare(a.dt, b.dt) ||
      compare(a.sensor_id, b.sensor_id) ||
      compare(a.metric, b.metric) ||
      compare(a.hour_start, b.hour_start),
  );
  const daily = [...group((e) => `${e.dt}|${e.sensor_id}|${e.metric}`).values()].map((list) => ({
    sensor_id: list[0].sensor_id,
    metric: list[0].metric,
    ...stats(list.map((e) => e.value)),
    dt: list[0].dt,
  }));
  daily.sort(
    (a, b) => compare(a.dt, b.dt) || compare(a.sensor_id, b.sensor_id) || compare(a.metric, b.metric),
  );

  return {
    summary: {
      lines: lines.length,
      valid: batchCandidates.length - late,
      invalid: quarantine.length,
      late,
      itemsWritten: aggregates.length,
      alerts: alerts.length,
    },
    aggregates,
    alerts,
    quarantine,
    tables: { events, sensor_stats_hourly: hourly, sensor_stats_daily: daily },
  };
}

/** Whether two numbers agree to 1e-9 relative (floating-point statistics computed in another order). */
export function close(a: unknown, b: unknown): boolean {
  if (typeof a !== 'number' || typeof b !== 'number') return a === b;
  return a === b || Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}
