import { rawObjectKey, timeOrderedId } from '../../../local/firehose';

describe('raw object keys', () => {
  test('put an object under raw/dt=/hour= of its arrival time in UTC, named like Firehose names objects', () => {
    const key = rawObjectKey('sluice-dev-raw', Date.parse('2024-03-01T23:59:58.765+00:00'), 'ID');

    expect(key).toBe('raw/dt=2024-03-01/hour=23/sluice-dev-raw-1-2024-03-01-23-59-58-ID.gz');
  });

  test('ids have the shape of a version-7 UUID', () => {
    expect(timeOrderedId(Date.parse('2024-03-01T00:00:00Z'))).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });

  test('ids sort in the order they were made, within one millisecond and across milliseconds', () => {
    const ms = Date.parse('2024-03-01T00:00:00Z');
    const ids = [timeOrderedId(ms), timeOrderedId(ms), timeOrderedId(ms), timeOrderedId(ms + 1)];

    expect([...ids].sort()).toEqual(ids);
  });
});
