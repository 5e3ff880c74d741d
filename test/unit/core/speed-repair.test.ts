import { aggregateKeyId, type AggregateKey } from '../../../core/aggregate';
import type { SensorEvent } from '../../../core/event';
import { padSequence } from '../../../core/sequence';
import { packKpl, packNdjson } from '../../../core/record-packing';
import { repairItem, verdictsBetween, type ItemState, type RepairMember } from '../../../core/speed-repair';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const NOW = Date.parse('2026-11-21T12:00:00Z');
const CONFIG = { latenessMs: 24 * HOUR, maxClockSkewMs: 5 * MINUTE };
const WINDOW = { name: '1h', sizeMs: HOUR, hopMs: HOUR };
const KEY: AggregateKey = { sensorId: 's1', metric: 'temperature', window: '1h', windowStart: NOW - HOUR };

const eventJson = (eventTime: number, value = 20) =>
  JSON.stringify({
    eventId: `e${eventTime}`,
    sensorId: 's1',
    metric: 'temperature',
    value,
    timestamp: eventTime,
  });
const data = (eventTime: number, value = 20) => Buffer.from(eventJson(eventTime, value)).toString('base64');
/** The verdict on a record of one event. */
const verdictBetween = (record: string, fromMs: number, toMs: number, config: typeof CONFIG) => {
  const verdicts = verdictsBetween(record, fromMs, toMs, config);
  expect(verdicts).toHaveLength(1);
  return verdicts[0];
};

function member(n: number, value: number, lane = 'shard-0', uncertain = false): RepairMember {
  const event: SensorEvent = {
    eventId: `e${n}`,
    sensorId: 's1',
    metric: 'temperature',
    value,
    eventTime: NOW - HOUR + n,
  };
  return { event, lane, sequenceNumber: String(1000 + n), uncertain };
}

function stored(members: readonly RepairMember[], mark: number, lane = 'shard-0'): ItemState {
  const values = members.map((m) => m.event.value);
  return {
    ...KEY,
    windowEnd: NOW,
    count: members.length,
    sum: values.reduce((a, b) => a + b, 0),
    min: Math.min(...values),
    max: Math.max(...values),
    firstEventTime: Math.min(...members.map((m) => m.event.eventTime)),
    lastEventTime: Math.max(...members.map((m) => m.event.eventTime)),
    marks: { [lane]: padSequence(String(1000 + mark)) },
    version: 7,
  };
}

describe('verdictsBetween', () => {
  test('an event on time at both ends of the span is an event', () => {
    expect(verdictBetween(data(NOW - HOUR), NOW - MINUTE, NOW, CONFIG).kind).toBe('event');
  });

  test('an event late at both ends is skipped', () => {
    expect(verdictBetween(data(NOW - 48 * HOUR), NOW - MINUTE, NOW, CONFIG).kind).toBe('skipped');
  });

  test('an event on time at arrival but late now is uncertain', () => {
    expect(verdictBetween(data(NOW - 24 * HOUR - MINUTE), NOW - 2 * MINUTE, NOW, CONFIG).kind).toBe(
      'uncertain',
    );
  });

  test('an event too far in the future at arrival but valid now is uncertain', () => {
    expect(verdictBetween(data(NOW + 4 * MINUTE), NOW - 2 * MINUTE, NOW, CONFIG).kind).toBe('uncertain');
  });

  test.each([
    ['NDJSON', (lines: string[]) => packNdjson(lines.map((l) => Buffer.from(l)))],
    ['KPL', (lines: string[]) => packKpl(lines.map((l) => ({ partitionKey: 's1', data: Buffer.from(l) })))],
  ])('a %s record gives one verdict per event, in order', (_, pack) => {
    const record = Buffer.from(
      pack([
        eventJson(NOW - HOUR),
        'not json',
        eventJson(NOW - 24 * HOUR - MINUTE),
        eventJson(NOW - 48 * HOUR),
      ]),
    ).toString('base64');

    expect(verdictsBetween(record, NOW - 2 * MINUTE, NOW, CONFIG).map((v) => v.kind)).toEqual([
      'event',
      'skipped',
      'uncertain',
      'skipped',
    ]);
  });

  test('a record invalid whatever the clock is skipped', () => {
    expect(verdictBetween(Buffer.from('not json').toString('base64'), NOW - HOUR, NOW, CONFIG).kind).toBe(
      'skipped',
    );
  });
});

describe('repairItem', () => {
  const all = [member(1, 20), member(2, 21), member(3, 22), member(4, 23)];

  test('an item holding every record at or below its marks is complete', () => {
    expect(repairItem(KEY, WINDOW, stored(all, 4), all, {})).toEqual({ kind: 'complete' });
  });

  test('an item missing given-up records below its mark is rewritten with all of them, on its version', () => {
    // Records 2 and 3 were given up; record 4 moved the mark past them.
    const repair = repairItem(KEY, WINDOW, stored([all[0], all[3]], 4), all, {
      'shard-0': padSequence('1003'),
    });

    expect(repair).toMatchObject({
      kind: 'write',
      missing: 2,
      next: { count: 4, sum: 86, min: 20, max: 23, version: 8, marks: { 'shard-0': padSequence('1004') } },
    });
  });

  test('given-up records above the mark raise it and are folded in', () => {
    const repair = repairItem(KEY, WINDOW, stored(all.slice(0, 2), 2), all, {
      'shard-0': padSequence('1004'),
    });

    expect(repair).toMatchObject({
      kind: 'write',
      missing: 2,
      next: { count: 4, marks: { 'shard-0': padSequence('1004') } },
    });
  });

  test('an item that does not exist yet is created from the given-up records (version 1)', () => {
    const repair = repairItem(KEY, WINDOW, undefined, all.slice(0, 2), { 'shard-0': padSequence('1002') });

    expect(repair).toMatchObject({ kind: 'write', missing: 2, next: { count: 2, sum: 41, version: 1 } });
  });

  test('records of a lane the item has no mark for and is not raised on are left out', () => {
    const other = member(5, 99, 'shard-1');

    expect(repairItem(KEY, WINDOW, stored(all, 4), [...all, other], {})).toEqual({ kind: 'complete' });
  });

  test('an item holding a record of uncertain lateness is undecidable', () => {
    const members = [...all.slice(0, 3), member(4, 23, 'shard-0', true)];

    expect(repairItem(KEY, WINDOW, stored(all.slice(0, 2), 4), members, {}).kind).toBe('undecidable');
  });

  test('an item holding more records than the stream has below its marks is undecidable (the read began too late)', () => {
    const repair = repairItem(KEY, WINDOW, stored(all, 4), all.slice(2), {});

    expect(repair).toMatchObject({ kind: 'undecidable' });
    expect((repair as { reason: string }).reason).toContain(aggregateKeyId(KEY));
  });
});
