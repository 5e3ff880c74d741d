import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import {
  AnalyticsWorkgroup,
  type AnalyticsWorkgroupProps,
  SAVED_QUERIES,
} from '../../lib/analytics-workgroup';
import { LakeCatalog } from '../../lib/catalog';
import { readSql } from '../../contract/sql-template';
import { batchFixtures, nagFindings } from './batch-fixtures';
import { logicalId, newStack } from './synth';

function workgroup(props: Partial<AnalyticsWorkgroupProps> = {}, grant = false) {
  const fixtures = batchFixtures();
  const catalog = new LakeCatalog(fixtures.stack, 'Catalog', { bucket: fixtures.lake.bucket });
  const analytics = new AnalyticsWorkgroup(fixtures.stack, 'Workgroup', {
    bucket: fixtures.lake.bucket,
    database: catalog.database,
    ...props,
  });
  if (grant) {
    const role = new iam.Role(fixtures.stack, 'Analyst', {
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
    });
    analytics.grantQuery(role);
  }
  return { ...fixtures, catalog, analytics, template: Template.fromStack(fixtures.stack) };
}

describe('AnalyticsWorkgroup', () => {
  test('enforces its configuration on every query', () => {
    const { template } = workgroup();

    template.hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: Match.objectLike({
        EnforceWorkGroupConfiguration: true,
        PublishCloudWatchMetricsEnabled: true,
      }),
    });
  });

  test('runs Athena engine version 3', () => {
    const { template } = workgroup();

    template.hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: Match.objectLike({
        EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
      }),
    });
  });

  test('cancels queries that would scan more than the configured bytes', () => {
    const { template } = workgroup({ bytesScannedCutoffPerQuery: 123 * 1024 ** 2 });

    template.hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: Match.objectLike({ BytesScannedCutoffPerQuery: 123 * 1024 ** 2 }),
    });
  });

  test('limits scans to 10 GiB by default, like the default config', () => {
    const { template } = workgroup();

    template.hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: Match.objectLike({ BytesScannedCutoffPerQuery: 10 * 1024 ** 3 }),
    });
  });

  test('writes results under athena-results/ of the lake, encrypted with the lake key', () => {
    const { template, lake } = workgroup();

    template.hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: Match.objectLike({
        ResultConfiguration: {
          OutputLocation: {
            'Fn::Join': ['', ['s3://', { Ref: logicalId(lake.bucket) }, '/athena-results/']],
          },
          EncryptionConfiguration: {
            EncryptionOption: 'SSE_KMS',
            KmsKey: { 'Fn::GetAtt': [logicalId(lake.encryptionKey), 'Arn'] },
          },
        },
      }),
    });
  });

  test('encrypts results with SSE-S3 for a bucket without a KMS key', () => {
    const stack = newStack();
    const bucket = s3.Bucket.fromBucketName(stack, 'Plain', 'plain-bucket');
    const catalog = new LakeCatalog(stack, 'Catalog', { bucket });
    new AnalyticsWorkgroup(stack, 'Workgroup', { bucket, database: catalog.database });

    Template.fromStack(stack).hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: Match.objectLike({
        ResultConfiguration: Match.objectLike({ EncryptionConfiguration: { EncryptionOption: 'SSE_S3' } }),
      }),
    });
  });

  test('saves the day-one queries of sql/queries/, verbatim, in the lake database and this workgroup', () => {
    const { template, catalog } = workgroup({ workGroupName: 'sluice-test' });

    for (const query of SAVED_QUERIES) {
      template.hasResourceProperties('AWS::Athena::NamedQuery', {
        Name: query.name,
        QueryString: readSql(query.file),
        Database: { Ref: logicalId(catalog.database) },
        WorkGroup: 'sluice-test',
      });
    }
    expect(SAVED_QUERIES.map((q) => q.name)).toEqual([
      'Hottest sensors yesterday',
      'Hourly trend of a sensor (7 days)',
      'Quarantine reasons by day',
    ]);
  });

  test('grantQuery lets a principal run queries in this workgroup only and write their results', () => {
    const { template, stack } = workgroup({ workGroupName: 'sluice-test' }, true);

    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: [
              'athena:GetQueryExecution',
              'athena:GetWorkGroup',
              'athena:StartQueryExecution',
              'athena:StopQueryExecution',
            ],
            Resource: Stack.of(stack).resolve(
              Stack.of(stack).formatArn({
                service: 'athena',
                resource: 'workgroup',
                resourceName: 'sluice-test',
              }),
            ),
          }),
          Match.objectLike({
            Action: Match.arrayWith(['s3:PutObject']),
            Resource: Match.arrayWith([
              Match.objectLike({ 'Fn::Join': ['', Match.arrayWith(['/athena-results/*'])] }),
            ]),
          }),
        ]),
      },
    });
  });

  test('fails at synth for a scan limit below Athena’s 10 MiB minimum', () => {
    expect(() => workgroup({ bytesScannedCutoffPerQuery: 1024 })).toThrow(
      /bytesScannedCutoffPerQuery must be a whole number of bytes, at least 10485760 \(10 MiB, Athena's minimum\) \(given 1024\)/,
    );
  });

  test('leaves no unacknowledged cdk-nag finding', () => {
    const { app, analytics } = workgroup();

    expect(nagFindings(app, analytics)).toEqual([]);
  });
});
