/**
 * Local mode's books on the speed layer, kept from the stream processor's `onResult` hook: how many
 * records it read (each once, however often Lambda semantics made it retry or replay a record), how
 * many were valid, invalid (by reason) or late, the event dates it saw, the throughput, and each
 * sensor's latest reading for the dashboard.
 *
 * A record is counted the first time it is seen. Records of one partition key reach the handler in
 * sequence order, so "first time" is "sequence number above the highest seen for that shard and
 * partition key", which needs memory per key rather than per record.
 */
import type { KinesisStreamEvent } from 'aws-lambda';
import { decodeRecordEvents } from '../core/record-packing';
import { compareSequences } from '../core/sequence';
import type { SpeedConfig } from '../core/speed-config';
import type { BatchResult } from '../lambdas/stream-processor/process-batch';

export interface SpeedTotals {
  /** Kinesis records read (each once). */
  readonly records: number;
  /** Events in them (a packed record holds several): valid + invalid + late. */
  readonly ingested: number;
  readonly valid: number;
  readonly invalid: number;
  readonly late: number;
}

export interface LatestReading {
  readonly sensorId: string;
  readonly metric: string;
  readonly value: number;
  readonly eventTime: number;
}

export interface SpeedAccountingOptions {
  readonly config: SpeedConfig;
  /** @default Date.now */
  readonly now?: () => number;
  /** Throughput is averaged over this many seconds. @default 5 */
  readonly rateWindowSeconds?: number;
}

export class SpeedAccounting {
  private readonly counts = { records: 0, ingested: 0, valid: 0, invalid: 0, late: 0 };
  private readonly reasons = new Map<string, number>();
  private readonly highest = new Map<string, string>();
  private readonly dates = new Set<string>();
  private readonly latestReadings = new Map<string, LatestReading>();
  /** Records counted per wall-clock second, for the throughput. */
  private readonly perSecond = new Map<number, number>();
  private readonly now: () => number;
  private readonly rateWindowSeconds: number;

  constructor(private readonly options: SpeedAccountingOptions) {
    this.now = options.now ?? Date.now;
    this.rateWindowSeconds = options.rateWindowSeconds ?? 5;
  }

  /** The `onResult` hook of the stream processor. */
  observe(result: BatchResult, event: KinesisStreamEvent): void {
    const nowMs = this.now();
    const second = Math.floor(nowMs / 1000);
    let counted = 0;
    event.Records.forEach((record, index) => {
      const colon = record.eventID.lastIndexOf(':');
      const key = `${record.eventID.slice(0, colon)}\n${record.kinesis.partitionKey}`;
      const seen = this.highest.get(key);
      const sequence = record.kinesis.sequenceNumber;
      if (seen !== undefined && compareSequences(sequence, seen) <= 0) return;
      this.highest.set(key, sequence);
      this.counts.records++;
      // Decode again for what the result does not carry: reasons, dates, readings.
      const { subRecords } = decodeRecordEvents(
        record.kinesis.data,
        nowMs,
        this.options.config.maxClockSkewMs,
      );
      const outcomes = result.eventOutcomes[index];
      subRecords.forEach(({ result: decoded }, sub) => {
        counted++;
        this.counts.ingested++;
        const outcome = outcomes[sub];
        if (outcome === 'late') this.counts.late++;
        else if (outcome === 'valid') this.counts.valid++;
        else this.counts.invalid++;
        if (typeof decoded === 'string') {
          const reason = outcome === 'invalid' ? decoded : 'unknown';
          this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + 1);
          return;
        }
        const { sensorId, metric, value, eventTime } = decoded;
        this.dates.add(new Date(eventTime).toISOString().slice(0, 10));
        if (outcome !== 'valid') return;
        const readingKey = `${sensorId}\n${metric}`;
        const previous = this.latestReadings.get(readingKey);
        if (!previous || previous.eventTime <= eventTime) {
          this.latestReadings.set(readingKey, { sensorId, metric, value, eventTime });
        }
      });
    });
    if (counted > 0) {
      this.perSecond.set(second, (this.perSecond.get(second) ?? 0) + counted);
      for (const s of this.perSecond.keys()) if (s < second - 60) this.perSecond.delete(s);
    }
  }

  get totals(): SpeedTotals {
    return { ...this.counts };
  }

  /** Invalid records by quarantine reason. */
  get invalidByReason(): Record<string, number> {
    return Object.fromEntries([...this.reasons.entries()].sort((a, b) => a[0].localeCompare(b[0])));
  }

  /** UTC dates (`YYYY-MM-DD`) of the valid events seen, late ones included, sorted. */
  get eventDates(): string[] {
    return [...this.dates].sort();
  }

  /** Records per second over the last `rateWindowSeconds` complete seconds. */
  eventsPerSecond(): number {
    const current = Math.floor(this.now() / 1000);
    let sum = 0;
    for (let s = current - this.rateWindowSeconds; s < current; s++) sum += this.perSecond.get(s) ?? 0;
    return sum / this.rateWindowSeconds;
  }

  /** The latest reading (by event time) of every sensor and metric seen. */
  latest(): LatestReading[] {
    return [...this.latestReadings.values()];
  }
}
