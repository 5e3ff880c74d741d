import { formatListing, formatReport, repairEvent } from '../../../cli/repair';
import { UsageError } from '../../../cli/errors';

describe('repairEvent', () => {
  test('no range means the on-failure queues', () => {
    expect(repairEvent({})).toEqual({});
  });

  test('a range named by hand becomes one batch', () => {
    expect(repairEvent({ shard: 'shardId-000000000001', from: '49', to: '51' })).toEqual({
      batches: [{ shardId: 'shardId-000000000001', startSequenceNumber: '49', endSequenceNumber: '51' }],
    });
  });

  test('a sequence number that is not decimal digits is a usage error naming both options', () => {
    expect(() => repairEvent({ shard: 's', from: '49x', to: '51' })).toThrow(UsageError);
    expect(() => repairEvent({ shard: 's', from: '49x', to: '51' })).toThrow(
      /--from and --to must be Kinesis sequence numbers/,
    );
  });
});

describe('formatListing', () => {
  test('says so when the queues are empty', () => {
    expect(formatListing([])).toBe('No given-up batches: the on-failure queues are empty.\n');
  });

  test('lists each batch with its range, size and processor', () => {
    const text = formatListing([
      {
        shardId: 'shardId-000000000000',
        startSequenceNumber: '10',
        endSequenceNumber: '20',
        batchSize: 3,
        processor: 'alert-processor',
      },
    ]);

    expect(text).toContain(
      '1 given-up batch(es):\n  shardId-000000000000  10..20  3 record(s)  alert-processor\n',
    );
  });
});

describe('formatReport', () => {
  const base = {
    received: 2,
    repaired: 2,
    records: 40,
    failed: 0,
    expired: 0,
    unreadable: 0,
    itemsWritten: 5,
    recordsRestored: 12,
    conflicts: 1,
    undecidable: [],
    alertsPublished: 3,
  };

  test('sums up a clean run in one line', () => {
    expect(formatReport(base)).toBe(
      'Repaired 2 batch(es) (40 records): 5 window item(s) rewritten, 12 record(s) restored, 1 conflict(s) with live writes redone, 3 alert(s) raised.\n',
    );
  });

  test('names what is left: failures with the first error, expired batches, items left as they are', () => {
    const text = formatReport({
      ...base,
      failed: 1,
      firstError: 'Error: boom',
      expired: 1,
      undecidable: ['x|y|1h|0: why'],
    });

    expect(text).toContain('1 batch(es) failed and stay queued for the next run: Error: boom');
    expect(text).toContain('1 batch(es) are no longer in the stream');
    expect(text).toContain('left as it is: x|y|1h|0: why');
  });
});
