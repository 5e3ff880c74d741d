/**
 * Lambda entry point of the dashboard's sensors widget, a CloudWatch custom widget: it returns HTML
 * that CloudWatch shows in the dashboard. Read-only: it reads the aggregates table by key through
 * `AggregateReader` (Query, BatchGetItem; its role has nothing else).
 *
 * Two views: the top-N sensors of a metric by a window aggregate, in the instance holding the end of
 * the dashboard's time range (the widget's `params`: metric, window, top, by); and one sensor's
 * windows over the dashboard's time range, when the widget's form names a sensor. Every parameter is
 * validated (the event contract's patterns, the configured windows, bounded counts); a bad one is
 * shown as an escaped message, never run. `describe` returns the widget's documentation.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { UserError } from '../../contract/user-error';
import { METRIC_PATTERN, SENSOR_ID_PATTERN } from '../../core/event';
import { findHourlyWindow } from '../../core/reconcile';
import type { WindowSpec } from '../../core/speed-config';
import { latestWindowStart } from '../../core/windows';
import { AggregateReader, TOP_AGGREGATES, type TopAggregate } from '../adapters/aggregate-reader';
import { requiredEnv } from '../adapters/environment';
import { windowsEnv } from '../adapters/windows-env';
import { renderError, renderSeries, renderTop } from './render';

/** At most this many sensors ranked. */
export const MAX_WIDGET_TOP = 50;
/** At most this many window instances of one sensor shown (per metric). */
export const MAX_WIDGET_WINDOWS = 500;

export const WIDGET_DOCUMENTATION = `## Sluice sensors
Top-N sensors of a metric by a window aggregate (the window holding the end of the dashboard's time
range), or one sensor's windows over the time range (type its id in the form).

\`\`\`yaml
metric: temperature   # required: the metric ranked
window: 1h            # a configured window (default: the tumbling 1h window)
top: 10               # 1-${MAX_WIDGET_TOP}
by: max               # ${TOP_AGGREGATES.join(' | ')}
\`\`\``;

interface TimeRange {
  readonly start?: unknown;
  readonly end?: unknown;
  readonly zoom?: { readonly start?: unknown; readonly end?: unknown };
}

/** What CloudWatch sends: the widget's params at the top level, and the dashboard's context. */
export interface WidgetEvent {
  readonly describe?: boolean;
  readonly metric?: unknown;
  readonly window?: unknown;
  readonly top?: unknown;
  readonly by?: unknown;
  readonly widgetContext?: {
    readonly timeRange?: TimeRange;
    readonly forms?: { readonly all?: Readonly<Record<string, unknown>> };
  };
}

export class WidgetInputError extends UserError {
  public override readonly name = 'WidgetInputError';
}

export type WidgetRequest =
  | { kind: 'top'; metric: string; window: WindowSpec; n: number; by: TopAggregate; at: number }
  | { kind: 'sensor'; sensor: string; window: WindowSpec; from: number; to: number };

/** A value as it may appear in a message: JSON, cut to 64 characters (the page escapes it). */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 64 ? `${text.slice(0, 63)}…` : text;
}

function text(name: string, value: unknown, pattern: RegExp, allowed: string): string {
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw new WidgetInputError(`${name}: got ${shown(value)}; must be ${allowed}`);
  }
  return value;
}

function instant(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new WidgetInputError(`${name}: got ${shown(value)}; must be epoch milliseconds`);
  }
  return value;
}

/** The request an event makes, validated against the configured windows; throws `WidgetInputError`. */
export function widgetRequest(
  event: WidgetEvent,
  windows: readonly WindowSpec[],
  now: number,
): WidgetRequest {
  const names = windows.map((w) => w.name);
  const windowName = event.window ?? (findHourlyWindow(windows) ?? windows[0]).name;
  const window = windows.find((w) => w.name === windowName);
  if (!window)
    throw new WidgetInputError(`window: got ${shown(windowName)}; must be one of ${names.join(', ')}`);
  const range = event.widgetContext?.timeRange;
  const to = instant('timeRange.end', range?.zoom?.end ?? range?.end, now);
  const from = instant('timeRange.start', range?.zoom?.start ?? range?.start, to - 3_600_000);
  const sensor = event.widgetContext?.forms?.all?.sensor;
  if (sensor !== undefined && sensor !== '') {
    const id = text('sensor', sensor, SENSOR_ID_PATTERN, '1-128 of letters, digits and . _ : -');
    if (to < from) throw new WidgetInputError('the time range ends before it starts');
    const count =
      Math.floor((latestWindowStart(to, window) - latestWindowStart(from, window)) / window.hopMs) + 1;
    if (count > MAX_WIDGET_WINDOWS) {
      throw new WidgetInputError(
        `the time range holds ${count} windows of ${window.name}; at most ${MAX_WIDGET_WINDOWS}: zoom in or pick a longer window`,
      );
    }
    return { kind: 'sensor', sensor: id, window, from, to };
  }
  const metric = text('metric', event.metric, METRIC_PATTERN, '1-64 of letters, digits and . _ -');
  const n = event.top ?? 10;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_WIDGET_TOP) {
    throw new WidgetInputError(`top: got ${shown(n)}; must be a whole number from 1 to ${MAX_WIDGET_TOP}`);
  }
  const by = event.by ?? 'max';
  if (!(TOP_AGGREGATES as readonly unknown[]).includes(by)) {
    throw new WidgetInputError(`by: got ${shown(by)}; must be one of ${TOP_AGGREGATES.join(', ')}`);
  }
  return { kind: 'top', metric, window, n, by: by as TopAggregate, at: to };
}

export interface WidgetDeps {
  readonly reader: Pick<AggregateReader, 'top' | 'range'>;
  readonly windows: readonly WindowSpec[];
  /** @default Date.now */
  readonly now?: () => number;
}

export type WidgetHandler = (event: WidgetEvent) => Promise<string>;

export function createHandler(deps: WidgetDeps): WidgetHandler {
  return async (event) => {
    if (event.describe) return WIDGET_DOCUMENTATION;
    try {
      const request = widgetRequest(event, deps.windows, (deps.now ?? Date.now)());
      if (request.kind === 'sensor') {
        const rows = await deps.reader.range({
          sensorId: request.sensor,
          window: request.window.name,
          from: request.from,
          to: request.to,
        });
        return renderSeries({ sensor: request.sensor, window: request.window.name, rows });
      }
      const top = await deps.reader.top({
        metric: request.metric,
        window: request.window.name,
        at: request.at,
        n: request.n,
        by: request.by,
      });
      return renderTop({
        metric: request.metric,
        window: request.window.name,
        by: request.by,
        windowStart: top.windowStart,
        rows: top.rows,
      });
    } catch (error) {
      // A user's mistake is shown; anything else fails the invocation (CloudWatch shows the error).
      if (error instanceof UserError) return renderError(error.message);
      throw error;
    }
  };
}

const WHO = 'the sensors widget';
let deployed: WidgetHandler | undefined;

/** The deployed handler: client and settings from the environment, created once per container. */
export const handler: WidgetHandler = (event) => {
  if (deployed === undefined) {
    const windows = windowsEnv(WHO);
    deployed = createHandler({
      reader: new AggregateReader({
        client: new DynamoDBClient({}),
        tableName: requiredEnv('TABLE_NAME', WHO),
        windows,
      }),
      windows,
    });
  }
  return deployed(event);
};
