import { Match } from 'aws-cdk-lib/assertions';
import { DataLake } from '../../lib/data-lake';
import { logicalId, newStack, synthSluice } from './synth';

// Distinct from the defaults and from each other, so a rule fed the wrong setting fails.
const lake = {
  rawInfrequentAccessAfterDays: 45,
  rawExpireAfterDays: 400,
  quarantineExpireAfterDays: 21,
  athenaResultsExpireAfterDays: 7,
};

describe('data lake in the Sluice stack', () => {
  const { stack, template } = synthSluice({ lake });
  const bucketId = logicalId(stack.lake.bucket);
  const keyId = logicalId(stack.lake.encryptionKey);
  const accessLogsId = logicalId(stack.lake.accessLogsBucket);

  function lifecycleRule(id: string): Record<string, unknown> {
    const bucket = template.findResources('AWS::S3::Bucket')[bucketId];
    const rules = bucket.Properties.LifecycleConfiguration.Rules as Array<Record<string, unknown>>;
    const rule = rules.find((r) => r.Id === id);
    if (!rule) throw new Error(`no lifecycle rule ${id}; rules are ${rules.map((r) => r.Id).join(', ')}`);
    return rule;
  }

  test('encrypts objects with its own rotating KMS key and S3 Bucket Keys', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            BucketKeyEnabled: true,
            ServerSideEncryptionByDefault: {
              SSEAlgorithm: 'aws:kms',
              KMSMasterKeyID: { 'Fn::GetAtt': [keyId, 'Arn'] },
            },
          },
        ],
      },
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      Description: Match.stringLikeRegexp('data lake'),
      EnableKeyRotation: true,
    });
  });

  test('blocks all public access', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: Match.anyValue(),
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      VersioningConfiguration: { Status: 'Enabled' },
    });
  });

  test('denies requests without TLS 1.2', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Effect: 'Deny', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } }),
        ]),
      },
    });
  });

  test('moves raw/ to Infrequent Access, then expires it, after the configured days', () => {
    expect(lifecycleRule('raw-to-ia-then-expire')).toMatchObject({
      Prefix: 'raw/',
      Status: 'Enabled',
      Transitions: [{ StorageClass: 'STANDARD_IA', TransitionInDays: 45 }],
      ExpirationInDays: 400,
    });
  });

  test('expires quarantine/ and raw-errors/ after the quarantine days', () => {
    expect(lifecycleRule('expire-quarantine')).toMatchObject({ Prefix: 'quarantine/', ExpirationInDays: 21 });
    expect(lifecycleRule('expire-raw-errors')).toMatchObject({ Prefix: 'raw-errors/', ExpirationInDays: 21 });
  });

  test('expires athena-results/ after the configured days', () => {
    expect(lifecycleRule('expire-athena-results')).toMatchObject({
      Prefix: 'athena-results/',
      ExpirationInDays: 7,
    });
  });

  test('aborts incomplete multipart uploads and expires old versions', () => {
    expect(lifecycleRule('expire-old-versions-and-uploads')).toMatchObject({
      AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
      NoncurrentVersionExpiration: { NoncurrentDays: 30 },
      ExpiredObjectDeleteMarker: true,
    });
  });

  test('never expires curated/', () => {
    const bucket = template.findResources('AWS::S3::Bucket')[bucketId];
    const rules = bucket.Properties.LifecycleConfiguration.Rules as Array<{
      Prefix?: string;
      ExpirationInDays?: number;
    }>;

    expect(rules.filter((r) => r.ExpirationInDays !== undefined && !r.Prefix)).toEqual([]);
    expect(rules.map((r) => r.Prefix)).not.toContain('curated/');
  });

  test('is retained, with its key, when removed from the stack', () => {
    template.hasResource('AWS::S3::Bucket', {
      Properties: { BucketEncryption: Match.anyValue(), LoggingConfiguration: Match.anyValue() },
      DeletionPolicy: 'Retain',
    });
    template.hasResource('AWS::KMS::Key', {
      Properties: { Description: Match.stringLikeRegexp('data lake') },
      DeletionPolicy: 'Retain',
    });
  });

  test('writes server access logs to the separate access-log bucket', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      LoggingConfiguration: { DestinationBucketName: { Ref: accessLogsId }, LogFilePrefix: 'data-lake/' },
    });
  });

  test('lets only S3 log delivery for this lake write to the access-log bucket', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: accessLogsId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'logging.s3.amazonaws.com' },
            Action: 's3:PutObject',
            Condition: {
              ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [bucketId, 'Arn'] } },
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
            },
          }),
        ]),
      },
    });
  });

  test('encrypts the access-log bucket with S3-managed keys, TLS-only, with expiring logs', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      LifecycleConfiguration: {
        Rules: Match.arrayWith([Match.objectLike({ Id: 'expire-access-logs', ExpirationInDays: 90 })]),
      },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: accessLogsId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });
});

describe('DataLake construct', () => {
  test('fails if raw objects would expire before moving to Infrequent Access', () => {
    const stack = newStack();

    expect(
      () => new DataLake(stack, 'Lake', { rawInfrequentAccessAfterDays: 60, rawExpireAfterDays: 60 }),
    ).toThrow(/rawExpireAfterDays must be greater than rawInfrequentAccessAfterDays \(60\) \(given 60\)/);
  });

  test('fails if raw objects would move to Infrequent Access before 30 days', () => {
    const stack = newStack();

    expect(() => new DataLake(stack, 'Lake', { rawInfrequentAccessAfterDays: 10 })).toThrow(
      /rawInfrequentAccessAfterDays must be an integer between 30 and 36500 inclusive \(given 10\)/,
    );
  });
});
