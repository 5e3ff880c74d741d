/**
 * Value-alert latency for the local benchmark: from a record's arrival in the stream (its
 * ApproximateArrivalTimestamp) to the moment its alert was read from the queue subscribed to the
 * alerts topic (so at least the SNS publish, plus SNS's delivery to that queue).
 *
 * The alert message names its record by `eventId`; the record's arrival time is known to whoever
 * reads it from the stream. The aggregate processor reads every record, so its results (the
 * pipeline's `onBatchResult`) are where `ArrivalLog` learns it, possibly after the alert came in:
 * the two are joined once both are in.
 */
import type { KinesisStreamEvent } from 'aws-lambda';
import type { BatchResult } from '../lambdas/stream-processor/process-batch';

/** What the join needs of a received alert (local/alert-collector.ts `ReceivedAlert`). */
export interface ReceivedAlertTimes {
  /** The record that breached; only per-event (value) alerts have one. */
  readonly eventId?: string;
  /** ISO-8601 time the alert was read from the queue. */
  readonly receivedAt: string;
}

/** Latencies of the alerts received in [fromMs, toMs) whose record's arrival is known, ms, ascending. */
export function alertLatencies(
  alerts: readonly ReceivedAlertTimes[],
  arrivalOf: (eventId: string) => number | undefined,
  fromMs: number,
  toMs: number,
): { readonly latencies: Float64Array; readonly unmatched: number } {
  const latencies: number[] = [];
  let unmatched = 0;
  for (const alert of alerts) {
    const receivedMs = Date.parse(alert.receivedAt);
    if (alert.eventId === undefined || !(receivedMs >= fromMs && receivedMs < toMs)) continue;
    const arrivalMs = arrivalOf(alert.eventId);
    if (arrivalMs === undefined) unmatched++;
    else latencies.push(receivedMs - arrivalMs);
  }
  return { latencies: Float64Array.from(latencies).sort(), unmatched };
}

/** The `eventId` of a record's JSON payload (base64), or undefined for one that has none. */
export function eventIdOf(base64Data: string): string | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(base64Data, 'base64').toString('utf8')) as { eventId?: unknown };
    return typeof parsed.eventId === 'string' ? parsed.eventId : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Arrival times of the valid records the aggregate processor applied while recording, by eventId
 * (the first delivery's; a replay carries the same stamp).
 */
export class ArrivalLog {
  private arrivals: Map<string, number> | undefined;

  /** The pipeline's `onBatchResult` hook. */
  observe = (result: BatchResult, event: KinesisStreamEvent): void => {
    const arrivals = this.arrivals;
    if (arrivals === undefined) return;
    event.Records.forEach((record, index) => {
      if (result.outcomes[index] !== 'valid') return;
      const eventId = eventIdOf(record.kinesis.data);
      // approximateArrivalTimestamp is in seconds, with milliseconds.
      if (eventId !== undefined && !arrivals.has(eventId))
        arrivals.set(eventId, record.kinesis.approximateArrivalTimestamp * 1000);
    });
  };

  /** Starts (again, empty) keeping arrival times. */
  startRecording(): void {
    this.arrivals = new Map();
  }

  /** Stops keeping them and returns the lookup of what was kept. */
  stopRecording(): (eventId: string) => number | undefined {
    const arrivals = this.arrivals ?? new Map<string, number>();
    this.arrivals = undefined;
    return (eventId) => arrivals.get(eventId);
  }
}
