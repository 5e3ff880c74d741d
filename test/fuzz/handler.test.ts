/**
 * Fuzzing the deployed handler: random and adversarial records (records.ts) in real Kinesis
 * batches through `createHandler` and its adapters, over in-memory DynamoDB, SNS and S3
 * (test/helpers/in-memory-aws.ts). One campaign of fast-check-generated runs feeds every test; each
 * test checks one behaviour over all runs against the contract oracle (oracle.ts), and names the
 * exact record (and the run's seed) when it fails.
 */
import { FullBatchFailureError } from '@aws-lambda-powertools/batch';
import fc from 'fast-check';
import {
  aggregateMismatches,
  describeRecord,
  expectationsOf,
  expectedValueAlerts,
  FuzzRig,
  quarantineKey,
  toBatches,
  toKinesisRecords,
  windowAlertProblems,
  WINDOWS_PER_EVENT,
} from './harness';
import { REASONS, type OracleEvent } from '../helpers/contract-oracle';
import { fuzzRecords, packSome } from './records';

/** About RUNS × (MIN_RECORDS + MAX_RECORDS) / 2 records (over 100,000 with this seed), plus replays. */
const RUNS = 120;
const MIN_RECORDS = 600;
const MAX_RECORDS = 1200;
const SEED = 20_261_121;

const BEHAVIOURS = ['handler', 'outcomes', 'counts', 'quarantine', 'aggregates', 'alerts', 'replay'] as const;
type Behaviour = (typeof BEHAVIOURS)[number];

const runs = fc.sample(
  fc.record({
    seed: fc.integer(),
    count: fc.noBias(fc.integer({ min: MIN_RECORDS, max: MAX_RECORDS })),
    // Lambda batches of any size, from a single record up to a thousand.
    batchSizes: fc.array(fc.oneof(fc.integer({ min: 1, max: 10 }), fc.integer({ min: 200, max: 1000 })), {
      minLength: 1,
      maxLength: 6,
    }),
    replay: fc.record({ from: fc.nat(), length: fc.integer({ min: 1, max: 400 }) }),
  }),
  { seed: SEED, numRuns: RUNS },
);

const rig = new FuzzRig();
const problems = new Map<Behaviour, string[]>(BEHAVIOURS.map((b) => [b, []]));
const tally = {
  runs: 0,
  generated: 0,
  records: 0,
  events: 0,
  replayed: 0,
  valid: 0,
  late: 0,
  invalid: 0,
  reasons: new Set<string>(),
};

function report(behaviour: Behaviour, seed: number, messages: readonly string[]): void {
  const list = problems.get(behaviour) as string[];
  for (const message of messages) if (list.length < 3) list.push(`run seed ${seed}: ${message}`);
}

beforeAll(async () => {
  for (const { seed, count, batchSizes, replay } of runs) {
    rig.reset();
    // Contract v1.1 traffic: runs of the records packed into NDJSON or KPL records, some broken.
    const generated = fuzzRecords(seed, count);
    const records = packSome(generated, seed);
    const expectations = expectationsOf(records);
    const events = expectations.flat();
    tally.generated += generated.length;
    const kinesis = toKinesisRecords(records);
    tally.runs++;
    tally.records += records.length;
    tally.events += events.length;

    // 1. Through the handler, batch by batch, as Lambda delivers them.
    let failed = false;
    for (const batch of toBatches(kinesis, batchSizes)) {
      const before = rig.results.length;
      const response = await rig.invoke(batch).catch((error: unknown) => error);
      const result = rig.results.length > before ? rig.results[rig.results.length - 1] : undefined;
      if (!result) {
        report('handler', seed, [`the handler threw ${String(response)} before finishing a batch`]);
        failed = true;
        break;
      }
      if (result.failures.size > 0) {
        const [eventId, error] = [...result.failures][0];
        const index = kinesis.findIndex((r) => r.eventID === eventId);
        const how = response instanceof FullBatchFailureError ? 'FullBatchFailureError' : 'partial response';
        report('handler', seed, [
          `${result.failures.size} of ${batch.length} records failed (${how}); the first with ${error.name}: ${error.message}; record ${describeRecord(records[index])}`,
        ]);
        failed = true;
      }
    }
    if (failed) continue;

    // 2. Every event's outcome, record by record, in order.
    const outcomes = rig.results.flatMap((r) => r.eventOutcomes.map((o) => o.join(',')));
    const wrong = outcomes.findIndex((o, i) => o !== expectations[i]?.map((e) => e.outcome).join(','));
    if (wrong >= 0 || outcomes.length !== records.length) {
      report('outcomes', seed, [
        `record ${wrong}: handler said ${outcomes[wrong]}, contract says ${JSON.stringify(expectations[wrong]?.map(({ data: _, ...e }) => e))}: ${describeRecord(records[wrong])}`,
      ]);
    }

    // 3. Statistics: per batch and in total, per reason.
    const want = { records: records.length, events: events.length, valid: 0, invalid: 0, late: 0 };
    const wantReasons: Record<string, number> = {};
    for (const e of events) {
      want[e.outcome]++;
      if (e.outcome === 'invalid') wantReasons[e.reason] = (wantReasons[e.reason] ?? 0) + 1;
    }
    const got = { records: 0, events: 0, valid: 0, invalid: 0, late: 0 };
    const gotReasons: Record<string, number> = {};
    for (const { stats } of rig.results) {
      if (stats.events !== stats.valid + stats.invalid + stats.late)
        report('counts', seed, [`batch stats do not add up: ${JSON.stringify(stats)}`]);
      got.records += stats.records;
      got.events += stats.events;
      got.valid += stats.valid;
      got.invalid += stats.invalid;
      got.late += stats.late;
      for (const [reason, n] of Object.entries(stats.invalidByReason))
        gotReasons[reason] = (gotReasons[reason] ?? 0) + n;
    }
    if (JSON.stringify(got) !== JSON.stringify(want))
      report('counts', seed, [`totals ${JSON.stringify(got)}, want ${JSON.stringify(want)}`]);
    const sorted = (r: Record<string, number>) => JSON.stringify(Object.entries(r).sort());
    if (sorted(gotReasons) !== sorted(wantReasons))
      report('counts', seed, [`reasons ${sorted(gotReasons)}, want ${sorted(wantReasons)}`]);
    const unknown = Object.keys(gotReasons).filter((r) => !REASONS.has(r));
    if (unknown.length > 0)
      report('counts', seed, [`reasons outside the documented set: ${unknown.join(', ')}`]);
    tally.valid += want.valid;
    tally.late += want.late;
    tally.invalid += want.invalid;
    for (const reason of Object.keys(gotReasons)) tally.reasons.add(reason);

    // 4. Quarantine: exactly the invalid events, each once, with its reason, its exact bytes and,
    // in a packed record, its index.
    const observed = rig.observe();
    if (observed.quarantineLines !== want.invalid)
      report('quarantine', seed, [
        `${observed.quarantineLines} quarantine lines for ${want.invalid} invalid events`,
      ]);
    kinesis.forEach((record, i) => {
      for (const expectation of expectations[i]) {
        const entry = observed.quarantine.get(
          quarantineKey(record.kinesis.sequenceNumber, expectation.index),
        );
        if (expectation.outcome !== 'invalid') {
          if (entry)
            report('quarantine', seed, [
              `a ${expectation.outcome} event was quarantined: ${describeRecord(records[i])}`,
            ]);
          continue;
        }
        const bytes = entry && Buffer.from(entry.data, entry.dataEncoding === 'base64' ? 'base64' : 'utf8');
        if (!entry || entry.reason !== expectation.reason || !bytes?.equals(expectation.data))
          report('quarantine', seed, [
            `record ${i} event ${expectation.index} quarantined as ${JSON.stringify(entry?.reason)} (bytes ${bytes?.equals(expectation.data) ? 'intact' : 'differ'}), want ${expectation.reason}: ${describeRecord(records[i])}`,
          ]);
      }
    });

    // 5. Aggregates: exactly the valid events, each in every window covering it.
    const valid = events.flatMap((e) => (e.outcome === 'valid' ? [e.event] : ([] as OracleEvent[])));
    report('aggregates', seed, aggregateMismatches(observed, valid));
    const counted = [...observed.aggregates.values()].reduce((n, a) => n + a.count, 0);
    if (counted !== valid.length * WINDOWS_PER_EVENT)
      report('aggregates', seed, [`counts sum to ${counted}, want ${valid.length} × ${WINDOWS_PER_EVENT}`]);

    // 6. Alerts: per-event rule exact, window rule within its guarantees, none left unpublished.
    const valueAlerts = observed.alerts
      .filter((a) => a.ruleId === 'temperature-high')
      .map((a) => `${a.sensorId}|${Date.parse(a.eventTime)}|${a.eventId}`)
      .sort();
    const wantValueAlerts = expectedValueAlerts(valid);
    if (JSON.stringify(valueAlerts) !== JSON.stringify(wantValueAlerts))
      report('alerts', seed, [`value alerts ${valueAlerts.length}, want ${wantValueAlerts.length}`]);
    report('alerts', seed, windowAlertProblems(observed));
    if (new Set(observed.alerts.map((a) => a.alertId)).size !== observed.alerts.length)
      report('alerts', seed, ['an alertId was published twice']);
    if (observed.pendingAlerts !== 0)
      report('alerts', seed, [`${observed.pendingAlerts} alerts left in the outbox`]);

    // 7. A replay of an already processed range (a retry from an older checkpoint) changes nothing:
    // no item is written (stored items are replaced, never changed in place, so identity shows it),
    // no alert is published, and re-quarantined records are the same records with the same reasons.
    const items = rig.aws.allItems();
    const published = rig.aws.published.length;
    const objects = new Set(rig.aws.bucketObjects.keys());
    const from = replay.from % kinesis.length;
    const again = kinesis.slice(from, from + replay.length);
    const response = await rig.invoke(again).catch((error: unknown) => error);
    tally.replayed += again.length;
    const itemsAfter = rig.aws.allItems();
    const requarantined = [...rig.aws.bucketObjects]
      .filter(([key]) => !objects.has(key))
      .flatMap(([, body]) => body.split('\n').filter(Boolean))
      .map(
        (line) =>
          JSON.parse(line) as {
            sequenceNumber: string;
            subRecordIndex?: number;
            reason: string;
            data: string;
          },
      );
    if (
      JSON.stringify(response) !== JSON.stringify({ batchItemFailures: [] }) ||
      itemsAfter.length !== items.length ||
      itemsAfter.some((item, i) => item !== items[i]) ||
      rig.aws.published.length !== published ||
      requarantined.some((q) => {
        const first = observed.quarantine.get(quarantineKey(q.sequenceNumber, q.subRecordIndex));
        return !first || first.reason !== q.reason || first.data !== q.data;
      })
    )
      report('replay', seed, [`replaying records ${from}..${from + again.length - 1} changed the results`]);
  }
});

afterAll(() => rig.destroy());

test('no error escapes the handler and no record fails over healthy services', () => {
  expect(problems.get('handler')).toEqual([]);
});

test('every event of every record (single, NDJSON, KPL, broken aggregate) gets the outcome the contract gives it', () => {
  expect(problems.get('outcomes')).toEqual([]);
});

test('counts add up: events = valid + invalid + late per batch and in total, per reason, reasons from the documented set', () => {
  expect(problems.get('counts')).toEqual([]);
});

test('the quarantine holds exactly the invalid events, each with its reason, its exact bytes and its index', () => {
  expect(problems.get('quarantine')).toEqual([]);
});

test('aggregates equal a recomputation from the valid records, in every window covering each', () => {
  expect(problems.get('aggregates')).toEqual([]);
});

test('alerts: per-event ones exactly as rule and cooldown allow, window ones within their guarantees, none unpublished', () => {
  expect(problems.get('alerts')).toEqual([]);
});

test('replaying an already processed range changes nothing', () => {
  expect(problems.get('replay')).toEqual([]);
});

test('the campaign pushed at least 100,000 records of every kind through the handler', () => {
  expect(tally.generated).toBeGreaterThanOrEqual(100_000);
  // Packed: fewer Kinesis records than events.
  expect(tally.records).toBeLessThan(tally.events * 0.6);
  expect(Math.min(tally.valid, tally.late, tally.invalid)).toBeGreaterThan(1_000);
  // Every documented reason a record can have (unit and attributes are optional, never missing).
  // too_many_lines too: runs are packed 40 at most (the corpus has a 501-line record).
  const unreachable = new Set(['missing_field:unit', 'missing_field:attributes', 'too_many_lines']);
  expect([...REASONS].filter((r) => !unreachable.has(r) && !tally.reasons.has(r))).toEqual([]);
});

test('with the quarantine bucket down only invalid records fail, and only an all-invalid batch throws', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer(), fc.integer({ min: 1, max: 60 }), async (seed, count) => {
      rig.reset();
      rig.aws.failing.add('s3');
      try {
        const records = packSome(fuzzRecords(seed, count), seed);
        const expectations = expectationsOf(records);
        const kinesis = toKinesisRecords(records);
        // A record holding an invalid event fails with the quarantine write.
        const invalid = kinesis.filter((_, i) => expectations[i].some((e) => e.outcome === 'invalid'));
        const outcome = await rig.invoke(kinesis).then(
          (response) => ({ response }),
          (error: unknown) => ({ error }),
        );
        if (invalid.length === records.length) {
          expect('error' in outcome && outcome.error).toBeInstanceOf(FullBatchFailureError);
        } else {
          expect(outcome).toEqual({
            response: {
              batchItemFailures: invalid.map((r) => ({ itemIdentifier: r.kinesis.sequenceNumber })),
            },
          });
        }
      } finally {
        rig.aws.failing.delete('s3');
      }
    }),
    { seed: SEED + 1, numRuns: 200 },
  );
});
