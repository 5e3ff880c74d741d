import { Duration, Size } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import { RAW_DATA_PREFIX, RAW_ERROR_PREFIX, RawLanding, type RawLandingProps } from '../../lib/raw-landing';
import { batchFixtures, nagFindings } from './batch-fixtures';
import { logicalId } from './synth';

function landing(props: Partial<RawLandingProps> = {}) {
  const fixtures = batchFixtures();
  const raw = new RawLanding(fixtures.stack, 'RawLanding', {
    stream: fixtures.ingest.stream,
    bucket: fixtures.lake.bucket,
    ...props,
  });
  return { ...fixtures, raw, template: Template.fromStack(fixtures.stack) };
}

function s3Destination(template: Template): Record<string, unknown> {
  const [stream] = Object.values(template.findResources('AWS::KinesisFirehose::DeliveryStream'));
  return stream.Properties.ExtendedS3DestinationConfiguration as Record<string, unknown>;
}

describe('RawLanding', () => {
  test('leaves no unreferenced Firehose CIDR mapping in the template (CloudFormation W7001)', () => {
    const { template } = landing();

    expect(Object.keys(template.toJSON().Mappings ?? {})).toEqual([]);
  });

  test('reads the ingest stream', () => {
    const { template, ingest } = landing();

    template.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      DeliveryStreamType: 'KinesisStreamAsSource',
      KinesisStreamSourceConfiguration: {
        KinesisStreamARN: { 'Fn::GetAtt': [logicalId(ingest.stream), 'Arn'] },
      },
    });
  });

  test('writes gzip objects with a .gz extension under raw/dt=YYYY-MM-DD/hour=HH/ of the arrival time', () => {
    const { template, lake } = landing();

    expect(s3Destination(template)).toMatchObject({
      BucketARN: { 'Fn::GetAtt': [logicalId(lake.bucket), 'Arn'] },
      Prefix: 'raw/dt=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/',
      CompressionFormat: 'GZIP',
      FileExtension: '.gz',
    });
    expect(RAW_DATA_PREFIX).toBe('raw/dt=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/');
  });

  test('sends records it cannot deliver to raw-errors/, by error type and time', () => {
    const { template } = landing();

    expect(s3Destination(template).ErrorOutputPrefix).toBe(
      'raw-errors/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/',
    );
    expect(RAW_ERROR_PREFIX).toBe(s3Destination(template).ErrorOutputPrefix);
  });

  test('ends every record with a newline, so objects are NDJSON', () => {
    const { template } = landing();

    expect(s3Destination(template).ProcessingConfiguration).toEqual({
      Enabled: true,
      Processors: [{ Type: 'AppendDelimiterToRecord', Parameters: [] }],
    });
  });

  test('lands packed records one event per line with no dynamic partitioning or de-aggregation of its own', () => {
    const { template } = landing();
    const destination = s3Destination(template);

    // Firehose de-aggregates KPL records of a Kinesis stream source by itself, before the delimiter
    // is appended to each user record; an NDJSON record keeps its lines and gets the delimiter after
    // its last one. A RecordDeAggregation processor would need dynamic partitioning (and fail
    // non-JSON lines into raw-errors/), a Lambda transform would be a second decoder.
    // (The processors are pinned by the test above: the delimiter only.)
    expect(destination.DynamicPartitioningConfiguration).toBeUndefined();
    expect(template.findResources('AWS::Lambda::Function')).toEqual({});
  });

  test('buffers as long and as much as its props say', () => {
    const { template } = landing({ bufferInterval: Duration.seconds(120), bufferSize: Size.mebibytes(32) });

    expect(s3Destination(template).BufferingHints).toEqual({ IntervalInSeconds: 120, SizeInMBs: 32 });
  });

  test('buffers 60 seconds or 64 MiB by default, like the default config', () => {
    const { template } = landing();

    expect(s3Destination(template).BufferingHints).toEqual({ IntervalInSeconds: 60, SizeInMBs: 64 });
  });

  test('encrypts objects with the lake key', () => {
    const { template, lake } = landing();

    expect(s3Destination(template).EncryptionConfiguration).toEqual({
      KMSEncryptionConfig: { AWSKMSKeyARN: { 'Fn::GetAtt': [logicalId(lake.encryptionKey), 'Arn'] } },
    });
  });

  test('logs delivery errors to its own log group, kept as long as asked', () => {
    const { template, raw } = landing({ logRetention: logs.RetentionDays.ONE_WEEK });

    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
    expect(s3Destination(template).CloudWatchLoggingOptions).toMatchObject({
      Enabled: true,
      LogGroupName: { Ref: logicalId(raw.logGroup) },
    });
  });

  test('lets Firehose read the stream and write the bucket', () => {
    const { template, ingest, lake } = landing();

    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(['kinesis:GetRecords', 'kinesis:GetShardIterator']),
            Resource: { 'Fn::GetAtt': [logicalId(ingest.stream), 'Arn'] },
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(['s3:PutObject']),
            Resource: Match.arrayWith([{ 'Fn::GetAtt': [logicalId(lake.bucket), 'Arn'] }]),
          }),
        ]),
      },
    });
  });

  test('fails at synth for a buffer interval above 900 seconds', () => {
    expect(() => landing({ bufferInterval: Duration.seconds(901) })).toThrow(
      /bufferInterval must be a whole number of seconds between 0 and 900 seconds inclusive \(given 15 minutes 1 second\)/,
    );
  });

  test('fails at synth for a buffer size above 128 MiB', () => {
    expect(() => landing({ bufferSize: Size.mebibytes(129) })).toThrow(
      /bufferSize \(MiB\) must be an integer between 1 and 128 inclusive \(given 129\)/,
    );
  });

  test('leaves no unacknowledged cdk-nag finding', () => {
    const { app, raw } = landing();

    expect(nagFindings(app, raw)).toEqual([]);
  });
});
