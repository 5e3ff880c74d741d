/**
 * Alert rules with an event-time cooldown.
 *
 * Events arrive out of order, so the cooldown works both ways: for one (sensor, rule),
 *  - no two alerts have event times closer than `cooldown`, and
 *  - every breaching event lies within `cooldown` of an alert.
 * A breach becomes an alert exactly when no earlier alert lies within `cooldown` of it (greedy, in
 * processing order). Re-applying a breach that was already applied never changes the outcome: it
 * either is an alert (same time, suppressed) or was suppressed by an alert that is still there.
 * That makes the rule safe under Lambda retries and replays without extra bookkeeping.
 */
import { createHash } from 'node:crypto';
import type { SensorEvent } from './event';
import type { AlertAggregate, AlertOperator, AlertRule } from './speed-config';

export interface Breach {
  readonly ruleId: string;
  readonly sensorId: string;
  readonly metric: string;
  readonly severity: string;
  /** The value compared with the threshold: the event's value or the window's aggregate. */
  readonly value: number;
  readonly threshold: number;
  readonly op: AlertOperator;
  /** Event time of the breach, epoch ms: the event's time, or the window's start. */
  readonly eventTime: number;
  /** `"value"` or the window name. */
  readonly source: string;
  readonly aggregate: AlertAggregate;
  readonly eventId?: string;
  readonly windowStart?: number;
}

export interface Alert extends Breach {
  /** Deterministic: the same breach always yields the same id, so consumers can deduplicate. */
  readonly alertId: string;
}

/** The current state of one window aggregate (after the batch's update). */
export interface WindowAggregateState {
  readonly sensorId: string;
  readonly metric: string;
  readonly window: string;
  readonly windowStart: number;
  readonly count: number;
  readonly sum: number;
  readonly min: number;
  readonly max: number;
}

export function compare(value: number, op: AlertOperator, threshold: number): boolean {
  switch (op) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
  }
}

export function aggregateValue(
  state: WindowAggregateState,
  aggregate: Exclude<AlertAggregate, 'value'>,
): number {
  switch (aggregate) {
    case 'avg':
      return state.sum / state.count;
    case 'min':
      return state.min;
    case 'max':
      return state.max;
    case 'sum':
      return state.sum;
    case 'count':
      return state.count;
  }
}

/** The breach of one per-event (`source: "value"`) rule by one event, if it breaches. */
export function valueBreach(event: SensorEvent, rule: AlertRule): Breach | undefined {
  if (
    rule.source !== 'value' ||
    rule.metric !== event.metric ||
    !compare(event.value, rule.op, rule.threshold)
  ) {
    return undefined;
  }
  return {
    ruleId: rule.id,
    sensorId: event.sensorId,
    metric: event.metric,
    severity: rule.severity,
    value: event.value,
    threshold: rule.threshold,
    op: rule.op,
    eventTime: event.eventTime,
    source: 'value',
    aggregate: 'value',
    eventId: event.eventId,
  };
}

/** Breaches of window rules by the given aggregate states, in the order given. */
export function windowBreaches(
  states: readonly WindowAggregateState[],
  rules: readonly AlertRule[],
): Breach[] {
  const breaches: Breach[] = [];
  for (const state of states) {
    for (const rule of rules) {
      if (rule.source !== state.window || rule.metric !== state.metric || rule.aggregate === 'value')
        continue;
      const value = aggregateValue(state, rule.aggregate);
      if (!compare(value, rule.op, rule.threshold)) continue;
      breaches.push({
        ruleId: rule.id,
        sensorId: state.sensorId,
        metric: state.metric,
        severity: rule.severity,
        value,
        threshold: rule.threshold,
        op: rule.op,
        eventTime: state.windowStart,
        source: state.window,
        aggregate: rule.aggregate,
        windowStart: state.windowStart,
      });
    }
  }
  return breaches;
}

export function alertId(breach: Breach): string {
  const identity = [
    breach.ruleId,
    breach.sensorId,
    breach.metric,
    breach.source,
    breach.eventTime,
    breach.eventId ?? '',
  ];
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 32);
}

export interface CooldownResult {
  /** Breaches that became alerts, in processing order. */
  readonly alerts: Alert[];
  /** Event times of every alert of this (sensor, rule), old and new, ascending. */
  readonly alertTimes: number[];
}

function withinCooldown(sortedTimes: readonly number[], time: number, cooldownMs: number): boolean {
  // Binary search for the first alert time >= time - cooldown; the closest neighbours decide.
  let lo = 0;
  let hi = sortedTimes.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sortedTimes[mid] < time - cooldownMs) lo = mid + 1;
    else hi = mid;
  }
  // sortedTimes[lo] may sit exactly `cooldown` before `time` (allowed), so look at the next one too.
  for (let i = lo; i < Math.min(lo + 2, sortedTimes.length); i++) {
    const t = sortedTimes[i];
    if (t === time || Math.abs(t - time) < cooldownMs) return true;
  }
  return false;
}

/**
 * Applies the cooldown to the breaches of ONE (sensor, rule), in processing order, given the event
 * times of the alerts already raised. A breach at exactly the time of an existing alert is the same
 * alert again and is suppressed even when `cooldownMs` is 0.
 */
export function applyCooldown(
  existingAlertTimes: readonly number[],
  breaches: readonly Breach[],
  cooldownMs: number,
): CooldownResult {
  const times = [...existingAlertTimes].sort((a, b) => a - b);
  const alerts: Alert[] = [];
  for (const breach of breaches) {
    if (withinCooldown(times, breach.eventTime, cooldownMs)) continue;
    const index = times.findIndex((t) => t > breach.eventTime);
    times.splice(index === -1 ? times.length : index, 0, breach.eventTime);
    alerts.push({ ...breach, alertId: alertId(breach) });
  }
  return { alerts, alertTimes: times };
}

/**
 * Drops alert times that can no longer suppress anything: every future breach lies after
 * `oldestPossibleBreach` (late events are skipped), so alerts further back than the cooldown are inert.
 */
export function pruneAlertTimes(
  times: readonly number[],
  oldestPossibleBreach: number,
  cooldownMs: number,
): number[] {
  return times.filter((t) => t > oldestPossibleBreach - cooldownMs);
}
