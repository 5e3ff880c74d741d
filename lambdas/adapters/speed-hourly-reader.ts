/**
 * Reads the speed layer's hourly window aggregates of one day from DynamoDB, for the comparison with
 * the batch layer (`core/reconcile.ts`).
 *
 * One Query per (sensor, metric) on its partition, `sk BETWEEN '<window>#<day>T00' AND
 * '<window>#<day>T23'`: it reads the day's 24 hourly items and nothing else. The pairs come from the
 * batch layer's rows, because the table has no index of sensors; a Scan would read every window item
 * of every sensor (the 1m and 5m windows outnumber the hourly ones ~100 to 1) to find the few hourly
 * ones. The cost of that choice: a sensor the batch layer never saw that day is not looked up.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { aggregatePartitionKey, aggregateSortKey } from '../../contract/table-keys';
import { dayRange, type HourlyStats } from '../../core/reconcile';
import { mapWithConcurrency } from './concurrency';
import { queryAll } from './query-all';

export interface SensorMetric {
  readonly sensorId: string;
  readonly metric: string;
}

export interface SpeedHourlyReaderOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Name of the tumbling one-hour window (the `<window>#` of the sort key). */
  readonly window: string;
  /** Queries in flight at once. @default 16 */
  readonly concurrency?: number;
}

const HOUR_MS = 3_600_000;

/** The distinct (sensor, metric) pairs of some rows, in first-seen order. */
export function distinctPairs(rows: readonly SensorMetric[]): SensorMetric[] {
  const seen = new Map<string, SensorMetric>();
  for (const { sensorId, metric } of rows) {
    const key = `${sensorId}\n${metric}`;
    if (!seen.has(key)) seen.set(key, { sensorId, metric });
  }
  return [...seen.values()];
}

export class SpeedHourlyReader {
  constructor(private readonly options: SpeedHourlyReaderOptions) {}

  /** Every hourly aggregate of `day` (YYYY-MM-DD, UTC) for the given pairs. */
  async read(day: string, pairs: readonly SensorMetric[]): Promise<HourlyStats[]> {
    const { start, end } = dayRange(day);
    const window = this.options.window;
    const from = aggregateSortKey(window, start);
    const to = aggregateSortKey(window, end - HOUR_MS);
    const perPair = await mapWithConcurrency(pairs, this.options.concurrency ?? 16, (pair) =>
      this.readPair(pair, from, to),
    );
    return perPair.flat();
  }

  private async readPair(pair: SensorMetric, from: string, to: string): Promise<HourlyStats[]> {
    const items = await queryAll(this.options.client, {
      TableName: this.options.tableName,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ProjectionExpression: 'windowStart, #count, #sum, #min, #max',
      ExpressionAttributeNames: { '#count': 'count', '#sum': 'sum', '#min': 'min', '#max': 'max' },
      ExpressionAttributeValues: {
        ':pk': { S: aggregatePartitionKey(pair.sensorId, pair.metric) },
        ':from': { S: from },
        ':to': { S: to },
      },
    });
    return items.map((item) => ({
      sensorId: pair.sensorId,
      metric: pair.metric,
      hourStart: Number(item.windowStart?.N),
      count: Number(item.count?.N),
      sum: Number(item.sum?.N),
      min: Number(item.min?.N),
      max: Number(item.max?.N),
    }));
  }
}
