import {
  eventJson,
  SensorWorkload,
  sensorIdOf,
  type SensorWorkloadOptions,
} from '../../../bench/cost-workload';

const OPTIONS: SensorWorkloadOptions = {
  seriesCount: 200,
  reportIntervalMs: 10_000,
  eventBytes: 200,
  jitterMs: 1000,
  arrivalDelayMs: 200,
  anomalyRate: 0.01,
  seed: 1,
  startMs: 1_000_000,
};

describe('SensorWorkload', () => {
  test('every series reports once per interval, so the rate is series ÷ interval', () => {
    const workload = new SensorWorkload(OPTIONS);

    // After the first interval every series is in its rhythm; take the next 60 s.
    workload.takeUntil(OPTIONS.startMs + 20_000);
    const events = workload.takeUntil(OPTIONS.startMs + 80_000);

    expect(events.length).toBeGreaterThan(200 * 6 - 200 * 0.2);
    expect(events.length).toBeLessThan(200 * 6 + 200 * 0.2);
  });

  test('hands records over in arrival order, each once', () => {
    const workload = new SensorWorkload(OPTIONS);

    const events = [30_000, 45_500, 70_000].flatMap((t) => workload.takeUntil(OPTIONS.startMs + t));

    const arrivals = events.map((e) => e.arrivalMs);
    expect(arrivals).toEqual([...arrivals].sort((a, b) => a - b));
    expect(new Set(events.map((e) => JSON.parse(e.data).eventId)).size).toBe(events.length);
  });

  test('every event is valid JSON of exactly eventBytes bytes', () => {
    const events = new SensorWorkload(OPTIONS).takeUntil(OPTIONS.startMs + 20_000);

    for (const e of events) {
      expect(Buffer.byteLength(e.data)).toBe(200);
      expect(JSON.parse(e.data)).toMatchObject({ sensorId: e.sensorId, timestamp: expect.any(String) });
    }
  });

  test('a subset of sensors sees exactly its share of the whole workload', () => {
    const keep = (sensorId: string) => sensorId.endsWith('3');
    const whole = new SensorWorkload(OPTIONS).takeUntil(OPTIONS.startMs + 30_000);

    const subset = new SensorWorkload({ ...OPTIONS, includeSensor: keep }).takeUntil(
      OPTIONS.startMs + 30_000,
    );

    expect(subset).toEqual(whole.filter((e) => keep(e.sensorId)));
  });

  test('two metrics per sensor share the sensor id, which is the partition key', () => {
    expect(sensorIdOf(6)).toBe(sensorIdOf(7));
    expect(sensorIdOf(7)).not.toBe(sensorIdOf(8));
  });
});

test('eventJson refuses an event that does not fit the size', () => {
  expect(() => eventJson({ eventId: 'x'.repeat(300) }, 'lab', 200)).toThrow(/more than 200/);
});
