import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { IngestStream } from '../../lib/ingest-stream';
import { logicalId, newStack, synthSluice } from './synth';

describe('ingest stream in the Sluice stack', () => {
  test('is provisioned with 5 shards by default', () => {
    const { template } = synthSluice();

    template.hasResourceProperties('AWS::Kinesis::Stream', {
      StreamModeDetails: { StreamMode: 'PROVISIONED' },
      ShardCount: 5,
    });
  });

  test('is on-demand, without a shard count, when the config says so', () => {
    const { template } = synthSluice({ stream: { mode: 'on-demand' } });

    template.hasResourceProperties('AWS::Kinesis::Stream', {
      StreamModeDetails: { StreamMode: 'ON_DEMAND' },
      ShardCount: Match.absent(),
    });
  });

  test('is provisioned with the configured shard count', () => {
    const { template } = synthSluice({ stream: { mode: 'provisioned', shardCount: 6 } });

    template.hasResourceProperties('AWS::Kinesis::Stream', {
      StreamModeDetails: { StreamMode: 'PROVISIONED' },
      ShardCount: 6,
    });
  });

  test('keeps records for the configured retention', () => {
    const { template } = synthSluice({ stream: { retention: '3d' } });

    template.hasResourceProperties('AWS::Kinesis::Stream', { RetentionPeriodHours: 72 });
  });

  test('is encrypted with the AWS-managed Kinesis key', () => {
    const { template } = synthSluice();

    template.hasResourceProperties('AWS::Kinesis::Stream', {
      StreamEncryption: { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' },
    });
  });
});

describe('IngestStream construct', () => {
  test('uses a customer-managed key when given one', () => {
    const stack = newStack();
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });

    new IngestStream(stack, 'Ingest', { encryptionKey: key });

    Template.fromStack(stack).hasResourceProperties('AWS::Kinesis::Stream', {
      StreamEncryption: { EncryptionType: 'KMS', KeyId: { 'Fn::GetAtt': [logicalId(key), 'Arn'] } },
    });
  });

  test('fails if the shard count is above 500', () => {
    const stack = newStack();

    expect(
      () => new IngestStream(stack, 'Ingest', { capacity: { mode: 'provisioned', shardCount: 501 } }),
    ).toThrow(/capacity\.shardCount must be an integer between 1 and 500 inclusive \(given 501\)/);
  });

  test('fails if the retention is not a whole number of hours', () => {
    const stack = newStack();

    expect(() => new IngestStream(stack, 'Ingest', { retention: Duration.minutes(1470) })).toThrow(
      /retention must be a whole number of hours between 24 and 8760 hours inclusive \(given 1 day 30 minutes\)/,
    );
  });

  test('fails if the retention is shorter than 24 hours', () => {
    const stack = newStack();

    expect(() => new IngestStream(stack, 'Ingest', { retention: Duration.hours(12) })).toThrow(
      /retention must be a whole number of hours between 24 and 8760 hours inclusive \(given 12 hours\)/,
    );
  });
});
