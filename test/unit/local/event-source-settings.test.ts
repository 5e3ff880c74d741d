/** Event source runner settings: derived from config like the CDK stack does, validated up front. */
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { resolveConfig } from '../../../contract/config';
import { EventSourceRunnerConfigError } from '../../../local/event-source/errors';
import { EventSourceRunner } from '../../../local/event-source/runner';
import { eventSourceSettingsFromConfig } from '../../../local/event-source/settings';

const kinesis = new KinesisClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9' });
afterAll(() => kinesis.destroy());

test('derives the event source settings from config.processor, durations in milliseconds', () => {
  const config = resolveConfig({
    processor: {
      batchSize: 250,
      maxBatchingWindow: '2s',
      parallelizationFactor: 3,
      retryAttempts: 4,
      maxRecordAge: '10m',
      timeout: '30s',
      memorySize: 512,
    },
  });

  expect(eventSourceSettingsFromConfig(config)).toEqual({
    batchSize: 250,
    maxBatchingWindowMs: 2_000,
    parallelizationFactor: 3,
    retryAttempts: 4,
    maxRecordAgeMs: 600_000,
    bisectBatchOnError: true,
    reportBatchItemFailures: true,
    functionTimeoutMs: 30_000,
    memoryLimitInMB: 512,
  });
});

test('rejects a batchSize above 10000, naming the option, the value and the range', () => {
  expect(
    () =>
      new EventSourceRunner({ kinesis, streamName: 's', handler: async () => undefined, batchSize: 20_000 }),
  ).toThrow(/batchSize: got 20000; must be an integer between 1 and 10000 inclusive/);
});

test('rejects a parallelizationFactor of 0 with an EventSourceRunnerConfigError', () => {
  expect(
    () =>
      new EventSourceRunner({
        kinesis,
        streamName: 's',
        handler: async () => undefined,
        parallelizationFactor: 0,
      }),
  ).toThrow(EventSourceRunnerConfigError);
});

test('rejects an unknown starting position', () => {
  expect(
    () =>
      new EventSourceRunner({
        kinesis,
        streamName: 's',
        handler: async () => undefined,
        startingPosition: 'AT_SEQUENCE_NUMBER' as never,
      }),
  ).toThrow(/startingPosition: got "AT_SEQUENCE_NUMBER"/);
});
