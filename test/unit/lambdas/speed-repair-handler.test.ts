import { MissingEnvironmentError } from '../../../lambdas/adapters/environment';
import { batchesOf, queuesFromEnvironment } from '../../../lambdas/speed-repair/handler';

describe('queuesFromEnvironment', () => {
  test('reads the queues and their roles', () => {
    const env = {
      SLUICE_REPAIR_QUEUES:
        '[{"url":"https://q/1","role":"aggregates"},{"url":"https://q/2","role":"alerts"}]',
    };

    expect(queuesFromEnvironment(env)).toEqual([
      { url: 'https://q/1', role: 'aggregates' },
      { url: 'https://q/2', role: 'alerts' },
    ]);
  });

  test('fails naming the variable, its value and what is allowed for a role that is no processor role', () => {
    const env = { SLUICE_REPAIR_QUEUES: '[{"url":"https://q/1","role":"everything"}]' };

    expect(() => queuesFromEnvironment(env)).toThrow(MissingEnvironmentError);
    expect(() => queuesFromEnvironment(env)).toThrow(
      /SLUICE_REPAIR_QUEUES is "\[\{\\"url\\":\\"https:\/\/q\/1\\",\\"role\\":\\"everything\\"\}\]"; it must be a JSON list of \{"url", "role"\} with role one of all, aggregates, alerts/,
    );
  });

  test('fails for a value that is not JSON', () => {
    expect(() => queuesFromEnvironment({ SLUICE_REPAIR_QUEUES: 'https://q/1' })).toThrow(
      /must be a JSON list/,
    );
  });
});

describe('batchesOf', () => {
  test('a scheduled event names no batches: the queues are repaired', () => {
    expect(batchesOf({})).toBeUndefined();
  });

  test('keeps only the range of each named batch', () => {
    const event = { batches: [{ shardId: 's', startSequenceNumber: '1', endSequenceNumber: '2', extra: 1 }] };

    expect(batchesOf(event)).toEqual([{ shardId: 's', startSequenceNumber: '1', endSequenceNumber: '2' }]);
  });

  test('refuses a batch whose sequence numbers are not decimal, naming it', () => {
    expect(() =>
      batchesOf({ batches: [{ shardId: 's', startSequenceNumber: 'x', endSequenceNumber: '2' }] }),
    ).toThrow(/^not a batch: \{"shardId":"s","startSequenceNumber":"x","endSequenceNumber":"2"\}/);
  });

  test('refuses an empty list', () => {
    expect(() => batchesOf({ batches: [] })).toThrow(/batches must be a non-empty list/);
  });
});
