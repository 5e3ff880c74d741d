/**
 * Records the fuzz campaign found that the contract accepts but DynamoDB cannot hold. Each test
 * states the behaviour the pipeline owes ("every record is applied, late or quarantined, and the
 * batch succeeds"); each failed before its fix.
 * The in-memory table rejects these writes with DynamoDB's own ValidationException, as dynalite
 * does over the wire (same messages).
 */
import { FuzzRig, toKinesisRecords, WINDOWS_PER_EVENT } from './harness';
import { validDoc, type FuzzRecord } from './records';

const rig = new FuzzRig();
afterEach(() => rig.reset());
afterAll(() => rig.destroy());

const event = (eventId: string, value: number | string, partitionKey = 'sensor-0'): FuzzRecord => {
  const text = JSON.stringify(validDoc({ eventId, value: 0 })).replace('"value":0', `"value":${value}`);
  return { data: Buffer.from(text), partitionKey };
};

/** Runs the records in batches; returns how many failed and where every record ended up. */
async function run(records: readonly FuzzRecord[], batchSize = 500) {
  const kinesis = toKinesisRecords(records);
  let failed = 0;
  for (let i = 0; i < kinesis.length; i += batchSize) {
    const batch = kinesis.slice(i, i + batchSize);
    await rig.invoke(batch).catch(() => undefined);
    failed += rig.results[rig.results.length - 1].failures.size;
  }
  const observed = rig.observe();
  const applied = [...observed.aggregates.values()].reduce((n, a) => n + a.count, 0) / WINDOWS_PER_EVENT;
  return { failed, applied, quarantined: observed.quarantine.size };
}

// Bug 1 (core/event.ts contract vs DynamoDB numbers): `value` only has to be finite, but DynamoDB
// numbers have a magnitude of 1e-130 to below 1e126. A valid event with value 1e200, 1.7e308 or
// 5e-324 makes its aggregates' UpdateItem fail with "Number overflow/underflow"; the records of
// those items fail in every retry and end in the on-failure queue instead of quarantine.
// Exact failing input (one Kinesis record, partition key sensor-0):
//   {"eventId":"e-1","sensorId":"sensor-0","metric":"temperature","value":1e200,"timestamp":1795262340000}
test.each([['1e200'], ['1.7976931348623157e308'], ['5e-324'], ['1e-131']])(
  'a valid event with value %s is applied or quarantined, and its batch succeeds',
  async (value) => {
    const outcome = await run([event('huge-or-tiny', value), event('ordinary', 21.5)]);

    expect(outcome.failed).toBe(0);
    expect(outcome.applied + outcome.quarantined).toBe(2);
  },
);

// Bug 1, second face: values that DynamoDB can store one by one can still sum past its range.
// Exact failing input: two records of sensor-0 in one minute with "value":9e125 each.
test('two storable values whose sum leaves DynamoDB’s range are applied or quarantined', async () => {
  const outcome = await run([event('a', '9e125'), event('b', '9e125')]);

  expect(outcome.failed).toBe(0);
  expect(outcome.applied + outcome.quarantined).toBe(2);
});

// Found by the fuzz (was bug 2): exactly-once marks were kept per (shard, partition key) and never
// pruned, ~160 bytes each, so a producer that spread one sensor over ~2,500 random partition keys
// in one window grew the item past DynamoDB's 400 KB limit and blocked the shard. With a
// parallelization factor of 1 (the default) a shard's records arrive in order, so the mark is now
// kept per shard. Input: 3,000 valid events of sensor-0 in one minute, partition keys pk-0 … pk-2999.
test('a sensor written under 3,000 partition keys in one window is applied in full', async () => {
  const records = Array.from({ length: 3_000 }, (_, i) => event(`e-${i}`, 21.5, `pk-${i}`));

  const outcome = await run(records);

  expect(outcome.failed).toBe(0);
  expect(outcome.applied).toBe(3_000);
});

test('the same 3,000 events under their sensor id as partition key (the contract) are applied in full', async () => {
  const records = Array.from({ length: 3_000 }, (_, i) => event(`e-${i}`, 21.5));

  const outcome = await run(records);

  expect(outcome).toEqual({ failed: 0, applied: 3_000, quarantined: 0 });
});
