import { FullBatchFailureError } from '@aws-lambda-powertools/batch';
import { toBatchResponse } from '../../../lambdas/stream-processor/handler';
import { kinesisEvent, sensorEvent } from '../../helpers/factories';

const { Records } = kinesisEvent([{ data: sensorEvent() }, { data: sensorEvent() }, { data: sensorEvent() }]);

test('reports no failures when every record succeeded', () => {
  expect(toBatchResponse(Records, new Map())).toEqual({ batchItemFailures: [] });
});

test('reports each failed record by its sequence number, in batch order', () => {
  const failures = new Map([
    [Records[2].eventID, new Error('b')],
    [Records[1].eventID, new Error('a')],
  ]);
  expect(toBatchResponse(Records, failures)).toEqual({
    batchItemFailures: [
      { itemIdentifier: Records[1].kinesis.sequenceNumber },
      { itemIdentifier: Records[2].kinesis.sequenceNumber },
    ],
  });
});

test('throws when every record failed, so Lambda bisects the batch', () => {
  const failures = new Map(Records.map((r) => [r.eventID, new Error('throttled')]));
  expect(() => toBatchResponse(Records, failures)).toThrow(FullBatchFailureError);
});
