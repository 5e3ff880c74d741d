/**
 * The keys of the speed layer's table, defined once: the aggregate store writes items under them,
 * every reader (reconciliation, `sluice aggregates`, the speed export, the dashboard widget) reads
 * by them, and the CDK construct restricts the alert processor to the alert items (IAM condition
 * `dynamodb:LeadingKeys`).
 */

/** Alert state items: `pk` is `ALERT#<sensorId>` (one item per sensor and rule, `sk` `RULE#<ruleId>`). */
export const ALERT_KEY_PREFIX = 'ALERT#';

/** Aggregate items: `pk` is `AGG#<sensorId>#<metric>`, one partition per series. */
export const AGGREGATE_KEY_PREFIX = 'AGG#';

/** The partition of one series (sensor ids and metrics hold no `#`: core/event.ts). */
export function aggregatePartitionKey(sensorId: string, metric: string): string {
  return `${AGGREGATE_KEY_PREFIX}${sensorId}#${metric}`;
}

/** The partition prefix of every series of one sensor (`begins_with` on the window index). */
export function sensorKeyPrefix(sensorId: string): string {
  return `${AGGREGATE_KEY_PREFIX}${sensorId}#`;
}

/** The series an aggregate partition key names, or undefined for any other key. */
export function seriesOfPartitionKey(pk: string): { sensorId: string; metric: string } | undefined {
  if (!pk.startsWith(AGGREGATE_KEY_PREFIX)) return undefined;
  const rest = pk.slice(AGGREGATE_KEY_PREFIX.length);
  const hash = rest.indexOf('#');
  if (hash <= 0 || hash === rest.length - 1) return undefined;
  return { sensorId: rest.slice(0, hash), metric: rest.slice(hash + 1) };
}

/**
 * The sort key of one window instance: `<window>#<start, ISO-8601 UTC>`. ISO strings of one width
 * sort as their instants do, so `BETWEEN` two of them reads a time range of one window.
 */
export function aggregateSortKey(window: string, windowStart: number): string {
  return `${window}#${new Date(windowStart).toISOString()}`;
}

/**
 * The window index: a sparse global secondary index listing the items of one window (the tumbling
 * hour, `StoragePlan.indexed`) by instance, so the series active in an hour are found without a
 * Scan. Its partition key `windowKey` holds the item's sort key (`aggregateSortKey`), set on items
 * of the indexed window only; its sort key is the table's `pk`. KEYS_ONLY: an update changes no
 * projected attribute (the key is the same at every write), so the index is written once per item,
 * when the item is created: one write per series and hour.
 */
export const WINDOW_INDEX = {
  indexName: 'byWindow',
  partitionKey: 'windowKey',
  sortKey: 'pk',
} as const;
