import { decodeRecord } from '../../../core/event';
import { generateEventLines, TrafficGenerator, type GeneratedRecord } from '../../../local/demo-producer';

const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);
const DAY = 86_400_000;
const SKEW = 300_000;

function sample(options: ConstructorParameters<typeof TrafficGenerator>[0], n: number): GeneratedRecord[] {
  const generator = new TrafficGenerator(options);
  return Array.from({ length: n }, (_, i) => generator.next(NOW + i * 10));
}

test('the same seed gives the same records', () => {
  const a = sample({ seed: 42 }, 200).map((r) => r.data.toString());
  const b = sample({ seed: 42 }, 200).map((r) => r.data.toString());
  expect(a).toEqual(b);
});

test('different seeds give different records', () => {
  expect(sample({ seed: 1 }, 50).map((r) => r.data.toString())).not.toEqual(
    sample({ seed: 2 }, 50).map((r) => r.data.toString()),
  );
});

test('malformed records are invalid under the event contract', () => {
  const malformed = sample({ seed: 7, invalidRate: 0.5 }, 400).filter((r) => r.kind === 'malformed');
  expect(malformed.length).toBeGreaterThan(100);
  for (const record of malformed) expect(decodeRecord(record.data, NOW, SKEW).ok).toBe(false);
});

test('normal and anomalous records are valid events of their sensor', () => {
  const records = sample({ seed: 7, invalidRate: 0, anomalyRate: 0.1 }, 400);
  for (const record of records) {
    const decoded = decodeRecord(record.data, NOW + 10_000, SKEW);
    expect(decoded.ok && decoded.event.sensorId).toBe(record.partitionKey);
  }
});

test('normal temperatures stay below the default alert threshold and anomalies exceed it', () => {
  const records = sample({ seed: 9, invalidRate: 0, anomalyRate: 0.05, sensors: 50 }, 3_000);
  const temperature = (r: GeneratedRecord) =>
    JSON.parse(r.data.toString()) as { metric: string; value: number };
  const normal = records
    .filter((r) => r.kind === 'normal')
    .map(temperature)
    .filter((e) => e.metric === 'temperature');
  const anomalies = records
    .filter((r) => r.kind === 'anomaly')
    .map(temperature)
    .filter((e) => e.metric === 'temperature');
  expect(Math.max(...normal.map((e) => e.value))).toBeLessThan(28);
  expect(anomalies.length).toBeGreaterThan(20);
  expect(Math.min(...anomalies.map((e) => e.value))).toBeGreaterThan(28);
});

test('late events are older than the lateness', () => {
  const late = sample({ seed: 3, lateRate: 0.3, invalidRate: 0 }, 300).filter((r) => r.kind === 'late');
  expect(late.length).toBeGreaterThan(50);
  for (const record of late)
    expect(Date.parse(JSON.parse(record.data.toString()).timestamp)).toBeLessThan(NOW - DAY);
});

test('duplicates repeat an earlier event byte for byte', () => {
  const records = sample({ seed: 5, duplicateRate: 0.2, invalidRate: 0, lateRate: 0 }, 500);
  const seen = new Set<string>();
  for (const record of records) {
    if (record.kind === 'duplicate') expect(seen.has(record.data.toString())).toBe(true);
    seen.add(record.data.toString());
  }
  expect(records.some((r) => r.kind === 'duplicate')).toBe(true);
});

test('duplicates never repeat a late event, so every duplicate is on time', () => {
  const records = sample({ seed: 6, duplicateRate: 0.3, lateRate: 0.3, invalidRate: 0 }, 500);
  const duplicates = records.filter((r) => r.kind === 'duplicate');
  expect(duplicates.length).toBeGreaterThan(50);
  for (const record of duplicates)
    expect(Date.parse(JSON.parse(record.data.toString()).timestamp)).toBeGreaterThan(NOW - DAY);
});

test('an event file spreads event times over the span, out of order, never in the future', () => {
  const lines = generateEventLines({
    count: 2_000,
    nowMs: NOW,
    spanMs: 3_600_000,
    disorderMs: 60_000,
    seed: 1,
    invalidRate: 0,
    lateRate: 0,
  });
  const times = lines.map((l) => Date.parse(JSON.parse(l).timestamp));
  expect(Math.max(...times)).toBeLessThanOrEqual(NOW);
  expect(Math.min(...times)).toBeGreaterThanOrEqual(NOW - 3_600_000 - 60_000);
  expect(times.some((t, i) => i > 0 && t < times[i - 1])).toBe(true);
});

test('rejects rates that add up to more than 1', () => {
  expect(() => new TrafficGenerator({ seed: 1, invalidRate: 0.6, lateRate: 0.5 })).toThrow(RangeError);
});
