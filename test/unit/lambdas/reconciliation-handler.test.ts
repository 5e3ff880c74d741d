import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { RECONCILIATION_SERVICE } from '../../../contract/metric-names';
import type { ReconciliationReport } from '../../../core/reconcile';
import { pipelineMetrics } from '../../../lambdas/adapters/pipeline-metrics';
import {
  createHandler,
  type ExecutionStatusChangeEvent,
  MAX_DAYS_PER_RUN,
  ReconciliationInputError,
  requestedDays,
  whyNotComparable,
} from '../../../lambdas/reconciliation/handler';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const D = Date.parse('2026-11-20T00:00:00Z');

function succeeded(input: string, startDate = D + DAY + 2 * HOUR): ExecutionStatusChangeEvent {
  return {
    'detail-type': 'Step Functions Execution Status Change',
    detail: { input, startDate, status: 'SUCCEEDED' },
  };
}

describe('requestedDays', () => {
  test('a scheduled run (input {}) reconciles the day before the run started', () => {
    expect(requestedDays(succeeded('{}'))).toEqual(['2026-11-20']);
  });

  test('a run for one day reconciles that day', () => {
    expect(requestedDays(succeeded('{"day":"2026-10-01"}'))).toEqual(['2026-10-01']);
  });

  test('a backfill run reconciles every day of its range', () => {
    expect(requestedDays(succeeded('{"from":"2026-10-30","to":"2026-11-02"}'))).toEqual([
      '2026-10-30',
      '2026-10-31',
      '2026-11-01',
      '2026-11-02',
    ]);
  });

  test('a direct invocation names the day', () => {
    expect(requestedDays({ day: '2026-11-19' })).toEqual(['2026-11-19']);
  });

  test('a direct invocation without a day is rejected', () => {
    expect(() => requestedDays({})).toThrow(ReconciliationInputError);
  });

  test('a range longer than a run allows is rejected, naming the limit', () => {
    expect(() => requestedDays({ from: '2026-01-01', to: '2026-12-31' })).toThrow(
      `365 days from 2026-01-01 to 2026-12-31: at most ${MAX_DAYS_PER_RUN} per run`,
    );
  });

  test('a range whose end is before its start is rejected', () => {
    expect(() => requestedDays({ from: '2026-11-02', to: '2026-11-01' })).toThrow(
      /from \(2026-11-02\) is after to/,
    );
  });

  test('a day that does not exist is rejected', () => {
    expect(() => requestedDays({ day: '2026-13-01' })).toThrow(/day must be a date YYYY-MM-DD/);
  });

  test('a run input that is not JSON is rejected', () => {
    expect(() => requestedDays(succeeded('{oops'))).toThrow(/the batch run's input is not JSON/);
  });
});

describe('whyNotComparable', () => {
  const ttl = 7 * DAY;

  test('a finished day within the aggregate TTL is comparable', () => {
    expect(whyNotComparable('2026-11-20', D + DAY + 2 * HOUR, ttl)).toBeUndefined();
  });

  test('a day that is not over is skipped', () => {
    expect(whyNotComparable('2026-11-20', D + 23 * HOUR, ttl)).toBe('the day is not over yet');
  });

  test('a day whose first hour may have expired from the speed layer is skipped', () => {
    expect(whyNotComparable('2026-11-20', D + HOUR + ttl, ttl)).toMatch(/aggregates have expired/);
  });
});

describe('reconciliation handler', () => {
  const silentLogger = new Logger({ logLevel: 'SILENT' });

  function fixture(options: { hourlyWindow?: string; items?: object[]; latenessMs?: number }) {
    const written: Array<{ day: string; report: ReconciliationReport }> = [];
    const queries: string[] = [];
    const metrics = pipelineMetrics(RECONCILIATION_SERVICE, 'qa');
    const added: Array<[string, number]> = [];
    jest.spyOn(metrics, 'addMetric').mockImplementation((name, _unit, value) => {
      added.push([name, value]);
      return metrics;
    });
    jest.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => metrics);
    // Unit level: a stand-in that answers every Query with the given items (the integration test
    // runs the same handler against dynalite).
    const dynamodb = { send: async () => ({ Items: options.items ?? [] }) } as unknown as DynamoDBClient;
    const handler = createHandler({
      athena: {
        rows: async (sql: string) => {
          queries.push(sql);
          return [
            {
              sensor_id: 's-1',
              metric: 'temperature',
              hour_start_ms: String(D + 5 * HOUR),
              event_count: '3',
              avg_value: '4.0',
              min_value: '2.0',
              max_value: '6.0',
            },
          ];
        },
      },
      dynamodb,
      reports: {
        write: async (day, report) => {
          written.push({ day, report });
          return `reports/reconciliation/dt=${day}.json`;
        },
      },
      tableName: 'aggregates',
      hourlyWindow: 'hourlyWindow' in options ? options.hourlyWindow : '1h',
      aggregateTtlMs: 7 * DAY,
      latenessMs: options.latenessMs ?? DAY,
      tolerance: 1e-6,
      maxDifferences: 20,
      now: () => D + DAY + 3 * HOUR,
      logger: silentLogger,
      metrics,
    });
    return { handler, written, queries, added };
  }

  const item = (count: number, sum: number) => ({
    windowStart: { N: String(D + 5 * HOUR) },
    count: { N: String(count) },
    sum: { N: String(sum) },
    min: { N: '2' },
    max: { N: '6' },
  });

  test('publishes the drift of a day as the three reconciliation metrics', async () => {
    const { handler, added } = fixture({ items: [item(4, 18)] });

    await handler(succeeded('{}'));

    expect(added).toEqual([
      ['ReconciliationItemsCompared', 1],
      ['ReconciliationItemsDiffering', 1],
      ['ReconciliationMaxRelativeDifference', 0.25],
    ]);
  });

  test('writes the day report under its day', async () => {
    const { handler, written } = fixture({ items: [item(3, 12)] });

    const result = await handler(succeeded('{}'));

    expect(result.reconciled.map((r) => r.key)).toEqual(['reports/reconciliation/dt=2026-11-20.json']);
    expect(written[0].report).toMatchObject({ days: ['2026-11-20'], itemsCompared: 1, itemsDiffering: 0 });
  });

  test('an hour only the batch layer has, starting within lateness of the run, is drift', async () => {
    // The run is at D + 27h; the hour D + 5h started 22h before it, within the 24h lateness.
    const { handler, written } = fixture({ items: [], latenessMs: DAY });

    await handler({ day: '2026-11-20' });

    expect(written[0].report).toMatchObject({ itemsDiffering: 1, missingInSpeed: 1, itemsLateOnly: 0 });
  });

  test('an hour only the batch layer has, starting more than lateness before the run, is late-only', async () => {
    // With a 20h lateness, events before D + 7h were late when the speed layer saw them.
    const { handler, written } = fixture({ items: [], latenessMs: 20 * HOUR });

    await handler({ day: '2026-11-20' });

    expect(written[0].report).toMatchObject({ itemsCompared: 0, itemsDiffering: 0, itemsLateOnly: 1 });
  });

  test('compares every hour of a finished day', async () => {
    const { handler, written } = fixture({ items: [item(3, 12)] });

    await handler({ day: '2026-11-20' });

    expect(written[0].report).toMatchObject({ itemsCompared: 1, itemsUnsettled: 0 });
  });

  test('reads the batch layer for the reconciled day only', async () => {
    const { handler, queries } = fixture({ items: [] });

    await handler({ day: '2026-11-20' });

    expect(queries).toHaveLength(1);
    expect(queries[0]).toContain("WHERE dt = '2026-11-20'");
  });

  test('without an hourly window, reports so and publishes no metric', async () => {
    const { handler, written, added, queries } = fixture({ hourlyWindow: undefined });

    await handler({ day: '2026-11-20' });

    expect(written[0].report.status).toBe('no_hourly_window');
    expect(added).toEqual([]);
    expect(queries).toEqual([]);
  });

  test('skips days it cannot compare and says why', async () => {
    const { handler, written } = fixture({});

    const result = await handler({ from: '2026-11-01', to: '2026-11-02' });

    expect(written).toEqual([]);
    expect(result.skipped.map((s) => s.day)).toEqual(['2026-11-01', '2026-11-02']);
  });
});
