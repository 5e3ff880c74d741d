/**
 * Runs fuzz records through the deployed stream-processor handler (`createHandler`) over the
 * in-memory AWS services, as Lambda would deliver them (real `KinesisStreamEvent` batches from one
 * shard, in order), and reads back everything the handler left behind: aggregate items, alert
 * state, published alerts and quarantine objects. The expectations are computed from the
 * contract oracle (oracle.ts), never from core/.
 */
import { aggregatesOf } from '../helpers/fault-ledger';
import { Logger } from '@aws-lambda-powertools/logger';
import type { KinesisStreamBatchResponse, KinesisStreamRecord } from 'aws-lambda';
import { STREAM_PROCESSOR_SERVICE } from '../../contract/metric-names';
import { resolveConfig, toSpeedConfig } from '../../contract/config';
import { pipelineMetrics } from '../../lambdas/adapters/pipeline-metrics';
import type { AlertMessage } from '../../lambdas/adapters/alert-publisher';
import { createHandler, type StreamProcessorHandler } from '../../lambdas/stream-processor/handler';
import type { BatchResult } from '../../lambdas/stream-processor/process-batch';
import { kinesisRecord } from '../helpers/factories';
import { InMemoryAws } from '../helpers/in-memory-aws';
import {
  expectationsForRecord,
  type EventExpectation,
  type OracleEvent,
  windowStartsOf,
} from '../helpers/contract-oracle';
import { MINUTE, NOW, type FuzzRecord } from './records';

export const SHARD = 'shardId-000000000007';
export const VALUE_THRESHOLD = 500;
export const WINDOW_THRESHOLD = 900;
export const VALUE_COOLDOWN_MS = 5 * MINUTE;
export const WINDOW_COOLDOWN_MS = 2 * MINUTE;
/** Lambda's synchronous payload limit bounds a Kinesis batch (base64 makes records 4/3 larger). */
const MAX_BATCH_BYTES = 6 * 1024 * 1024;

export const CONFIG = resolveConfig({
  stage: 'fuzz',
  alertRules: [
    {
      id: 'temperature-high',
      metric: 'temperature',
      source: 'value',
      aggregate: 'value',
      op: '>',
      threshold: VALUE_THRESHOLD,
      cooldown: '5m',
      severity: 'warning',
    },
    {
      id: 'minute-spike',
      metric: 'temperature',
      source: '1m',
      aggregate: 'max',
      op: '>',
      threshold: WINDOW_THRESHOLD,
      cooldown: '2m',
      severity: 'critical',
    },
  ],
});
export const SPEED = toSpeedConfig(CONFIG);
export const ORACLE_CONFIG = {
  nowMs: NOW,
  latenessMs: SPEED.latenessMs,
  maxClockSkewMs: SPEED.maxClockSkewMs,
};
/** Window instances one event joins (1m: 1, 5m every 1m: 5, 1h: 1). */
export const WINDOWS_PER_EVENT = SPEED.windows.reduce((n, w) => n + w.sizeMs / w.hopMs, 0);

const RESOURCES = {
  tableName: 'sluice-fuzz',
  topicArn: 'arn:aws:sns:us-east-1:000000000000:sluice-fuzz-alerts',
  bucket: 'sluice-fuzz-lake',
};

export interface Observed {
  readonly aggregates: Map<string, { count: number; sum: number; min: number; max: number }>;
  readonly pendingAlerts: number;
  readonly alerts: AlertMessage[];
  /** Quarantined events by `quarantineKey` (an event written twice appears once). */
  readonly quarantine: Map<string, { reason: string; data: string; dataEncoding: string }>;
  readonly quarantineLines: number;
}

/** The handler wired to in-memory services; `reset()` between independent runs. */
export class FuzzRig {
  readonly aws = new InMemoryAws(RESOURCES);
  readonly results: BatchResult[] = [];
  private handler: StreamProcessorHandler;

  constructor() {
    // Powertools Metrics would print an EMF document per batch; it reads this when constructed.
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    this.handler = this.newHandler();
  }

  /** A fresh container: the aggregate store remembers the items it wrote, so a reset table needs one. */
  private newHandler(): StreamProcessorHandler {
    return createHandler({
      dynamodb: this.aws.dynamodb,
      sns: this.aws.sns,
      s3: this.aws.s3,
      tableName: RESOURCES.tableName,
      alertsTopicArn: RESOURCES.topicArn,
      lakeBucket: RESOURCES.bucket,
      config: SPEED,
      now: () => NOW,
      logger: new Logger({ serviceName: STREAM_PROCESSOR_SERVICE, logLevel: 'SILENT' }),
      metrics: pipelineMetrics(STREAM_PROCESSOR_SERVICE, 'fuzz'),
      onResult: (result) => this.results.push(result),
    });
  }

  reset(): void {
    this.aws.reset();
    this.results.length = 0;
    this.handler = this.newHandler();
  }

  destroy(): void {
    this.aws.destroy();
  }

  invoke(records: readonly KinesisStreamRecord[]): Promise<KinesisStreamBatchResponse> {
    return this.handler({ Records: [...records] });
  }

  observe(): Observed {
    const items = this.aws.allItems();
    const aggregates = aggregatesOf(items, SPEED.windows);
    let pendingAlerts = 0;
    for (const item of items) {
      if (!item.pk.S!.startsWith('AGG#')) pendingAlerts += Object.keys(item.pending?.M ?? {}).length;
    }
    const quarantine = new Map<string, { reason: string; data: string; dataEncoding: string }>();
    let quarantineLines = 0;
    for (const body of this.aws.bucketObjects.values()) {
      for (const line of body.split('\n').filter(Boolean)) {
        quarantineLines++;
        const entry = JSON.parse(line) as {
          reason: string;
          data: string;
          dataEncoding: string;
          sequenceNumber: string;
          subRecordIndex?: number;
        };
        quarantine.set(quarantineKey(entry.sequenceNumber, entry.subRecordIndex), entry);
      }
    }
    return {
      aggregates,
      pendingAlerts,
      alerts: this.aws.published.map((m) => JSON.parse(m.message) as AlertMessage),
      quarantine,
      quarantineLines,
    };
  }
}

/** Real Kinesis records of one shard, sequence numbers increasing from `firstSequence`. */
export function toKinesisRecords(records: readonly FuzzRecord[], firstSequence = 1): KinesisStreamRecord[] {
  return records.map((r, i) =>
    kinesisRecord({
      data: r.data,
      partitionKey: r.partitionKey,
      shardId: SHARD,
      sequence: firstSequence + i,
      arrivalMs: NOW - 1000,
    }),
  );
}

/** Splits records into consecutive batches at the given sizes, never above Lambda's payload limit. */
export function toBatches<T extends KinesisStreamRecord>(
  records: readonly T[],
  sizes: readonly number[],
): T[][] {
  const batches: T[][] = [];
  let i = 0;
  for (let s = 0; i < records.length; s++) {
    const want = Math.max(1, sizes[s % Math.max(1, sizes.length)] ?? records.length);
    const batch: T[] = [];
    let bytes = 0;
    while (i < records.length && batch.length < want) {
      const size = records[i].kinesis.data.length + 200;
      if (batch.length > 0 && bytes + size > MAX_BATCH_BYTES) break;
      batch.push(records[i++]);
      bytes += size;
    }
    batches.push(batch);
  }
  return batches;
}

/** Per record, its events' expectations (contract v1.1: a packed record holds several). */
export function expectationsOf(records: readonly FuzzRecord[]): EventExpectation[][] {
  return records.map((r) => expectationsForRecord(r.data, ORACLE_CONFIG));
}

/** The quarantine entry key of an event: its record's sequence number and its index in a packed record. */
export function quarantineKey(sequenceNumber: string, index?: number): string {
  return `${sequenceNumber}/${index ?? ''}`;
}

/** Every window aggregate the valid events make, recomputed here. */
export function expectedAggregates(
  events: readonly OracleEvent[],
): Map<string, { count: number; sum: number; min: number; max: number; absSum: number }> {
  const result = new Map<string, { count: number; sum: number; min: number; max: number; absSum: number }>();
  for (const e of events) {
    for (const w of SPEED.windows) {
      for (const start of windowStartsOf(e.eventTime, w)) {
        const key = `${e.sensorId}|${e.metric}|${w.name}|${start}`;
        const a = result.get(key);
        if (!a)
          result.set(key, { count: 1, sum: e.value, min: e.value, max: e.value, absSum: Math.abs(e.value) });
        else {
          a.count++;
          a.sum += e.value;
          a.absSum += Math.abs(e.value);
          a.min = Math.min(a.min, e.value);
          a.max = Math.max(a.max, e.value);
        }
      }
    }
  }
  return result;
}

/** Differences between observed and recomputed aggregates (sums to 1e-9 of the summed magnitudes). */
export function aggregateMismatches(observed: Observed, events: readonly OracleEvent[]): string[] {
  const expected = expectedAggregates(events);
  const problems: string[] = [];
  for (const [key, want] of expected) {
    const got = observed.aggregates.get(key);
    if (
      !got ||
      got.count !== want.count ||
      got.min !== want.min ||
      got.max !== want.max ||
      Math.abs(got.sum - want.sum) > 1e-9 * Math.max(1, want.absSum)
    )
      problems.push(`${key}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  }
  for (const key of observed.aggregates.keys()) if (!expected.has(key)) problems.push(`${key}: not expected`);
  return problems;
}

/** Per-event rule: greedy in stream order per sensor, an alert unless one lies within the cooldown. */
export function expectedValueAlerts(events: readonly OracleEvent[]): string[] {
  const times = new Map<string, number[]>();
  const alerts: string[] = [];
  for (const e of events) {
    if (e.metric !== 'temperature' || !(e.value > VALUE_THRESHOLD)) continue;
    const previous = times.get(e.sensorId) ?? [];
    if (previous.some((t) => t === e.eventTime || Math.abs(t - e.eventTime) < VALUE_COOLDOWN_MS)) continue;
    times.set(e.sensorId, [...previous, e.eventTime]);
    alerts.push(`${e.sensorId}|${e.eventTime}|${e.eventId}`);
  }
  return alerts.sort();
}

/**
 * The window rule's two guarantees (which of two nearby breaching windows alerts depends on batch
 * boundaries): alerts of a sensor are at least a cooldown apart, every breaching window lies within
 * a cooldown of one, and every alert is a breaching window.
 */
export function windowAlertProblems(observed: Observed): string[] {
  const problems: string[] = [];
  const breaching = [...observed.aggregates]
    .filter(
      ([key, a]) =>
        key.split('|')[1] === 'temperature' && key.split('|')[2] === '1m' && a.max > WINDOW_THRESHOLD,
    )
    .map(([key]) => ({ sensorId: key.split('|')[0], start: Number(key.split('|')[3]) }));
  const alerts = observed.alerts.filter((a) => a.ruleId === 'minute-spike');
  for (const sensorId of new Set([...breaching.map((b) => b.sensorId), ...alerts.map((a) => a.sensorId)])) {
    const times = alerts
      .filter((a) => a.sensorId === sensorId)
      .map((a) => Date.parse(a.eventTime))
      .sort((x, y) => x - y);
    times.forEach((t, i) => {
      if (i > 0 && t - times[i - 1] < WINDOW_COOLDOWN_MS)
        problems.push(`${sensorId}: alerts at ${times[i - 1]} and ${t}`);
      if (!breaching.some((b) => b.sensorId === sensorId && b.start === t))
        problems.push(`${sensorId}: alert at ${t} without a breach`);
    });
    for (const b of breaching.filter((w) => w.sensorId === sensorId))
      if (!times.some((t) => Math.abs(t - b.start) < WINDOW_COOLDOWN_MS))
        problems.push(`${sensorId}: breach at ${b.start} not covered`);
  }
  return problems;
}

/** A record as a failure message shows it: its text (cut at 300 characters) and partition key. */
export function describeRecord(record: FuzzRecord): string {
  const text = record.data.toString('utf8');
  const shown = text.length > 300 ? `${text.slice(0, 300)}… (${record.data.length} bytes)` : text;
  return `${JSON.stringify(shown)} (base64 ${record.data.length <= 300 ? record.data.toString('base64') : '…'}) pk=${JSON.stringify(record.partitionKey)}`;
}
