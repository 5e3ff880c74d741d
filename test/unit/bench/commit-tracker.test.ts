import type { KinesisStreamEvent } from 'aws-lambda';
import { CommitTracker } from '../../../bench/commit-tracker';
import type { BatchResult, RecordOutcome } from '../../../lambdas/stream-processor/process-batch';
import type { PipelineLogEntry } from '../../../local/pipeline';
import { kinesisEvent, sensorEvent } from '../../helpers/factories';

const ARRIVAL_MS = Date.parse('2026-11-21T10:00:00Z');

/** A stream-processor result for `event`: every record valid unless told otherwise. */
function resultOf(
  event: KinesisStreamEvent,
  options: { failed?: number[]; outcomes?: RecordOutcome[]; itemsWritten?: number } = {},
): BatchResult {
  const failures = new Map(
    (options.failed ?? []).map((i) => [event.Records[i].eventID, new Error('throttled')] as const),
  );
  return {
    failures,
    outcomes: options.outcomes ?? event.Records.map(() => 'valid'),
    eventOutcomes: (options.outcomes ?? event.Records.map(() => 'valid')).map((o) => [o]),
    published: [],
    stats: {
      records: event.Records.length,
      events: event.Records.length,
      valid: event.Records.length,
      invalid: 0,
      late: 0,
      itemsWritten: options.itemsWritten ?? 0,
      alreadyApplied: 0,
      conflictsResolved: 0,
      alertsPublished: 0,
      maxEventTimeLagMs: 0,
      invalidByReason: {},
    },
  };
}

function events(count: number, sensors = 2): KinesisStreamEvent {
  return kinesisEvent(
    Array.from({ length: count }, (_, i) => ({
      data: sensorEvent({ sensorId: `sensor-${i % sensors}` }),
      sequence: i + 1,
      arrivalMs: ARRIVAL_MS + i,
    })),
  );
}

function invokedLog(event: KinesisStreamEvent): PipelineLogEntry {
  const first = event.Records[0];
  return {
    level: 'debug',
    component: 'runner',
    message: 'batch.invoked: invoking',
    details: {
      level: 'debug',
      event: 'batch.invoked',
      message: 'invoking',
      shardId: first.eventID.slice(0, first.eventID.lastIndexOf(':')),
      details: { first: first.kinesis.sequenceNumber },
    },
  };
}

describe('CommitTracker', () => {
  test('counts a record once however often it is delivered again', () => {
    const tracker = new CommitTracker();
    const batch = events(10);

    tracker.observe(resultOf(batch), batch);
    tracker.observe(resultOf(batch), batch);

    expect(tracker.applied).toBe(10);
  });

  test('counts a failed record only when a later delivery applies it', () => {
    const tracker = new CommitTracker();
    const batch = events(4, 1);
    const rest = { Records: batch.Records.slice(2) };

    tracker.observe(resultOf(batch, { failed: [2, 3] }), batch);
    const afterFailure = tracker.applied;
    tracker.observe(resultOf(rest), rest);

    expect([afterFailure, tracker.applied]).toEqual([2, 4]);
  });

  test('adds up the aggregate items every invocation wrote, redeliveries included', () => {
    const tracker = new CommitTracker();
    const batch = events(10);

    tracker.observe(resultOf(batch, { itemsWritten: 7 }), batch);
    tracker.observe(resultOf(batch, { itemsWritten: 3 }), batch);

    expect(tracker.itemsWritten).toBe(10);
  });

  test('measures the end-to-end latency of valid records from their arrival to the result', () => {
    let now = ARRIVAL_MS + 500;
    const tracker = new CommitTracker(() => now);
    const batch = events(3);
    tracker.startRecording();

    tracker.observe(resultOf(batch, { outcomes: ['valid', 'invalid', 'valid'] }), batch);
    now += 1;

    expect([...tracker.stopRecording().endToEnd]).toEqual([498, 500]);
  });

  test('splits the latency at the invocation the runner logged', () => {
    let now = ARRIVAL_MS + 300;
    const tracker = new CommitTracker(() => now);
    const batch = events(2);
    tracker.startRecording();

    tracker.noteLog(invokedLog(batch));
    now += 200;
    tracker.observe(resultOf(batch), batch);
    const recorded = tracker.stopRecording();

    expect({
      wait: [...recorded.waitBeforeInvoke],
      invocation: [...recorded.invocation],
    }).toEqual({ wait: [299, 300], invocation: [200] });
  });

  test('keeps no latencies while not recording', () => {
    const tracker = new CommitTracker();
    const batch = events(5);

    tracker.observe(resultOf(batch), batch);
    tracker.startRecording();

    expect(tracker.stopRecording().endToEnd).toHaveLength(0);
  });
});
