import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { AggregatesTable } from '../../lib/aggregates-table';
import { logicalId, newStack, synthSluice } from './synth';

describe('aggregates table in the Sluice stack', () => {
  const { template } = synthSluice();

  test('is keyed by string pk and sk', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
        // The window index's key (test/infra/serving-layer.test.ts).
        { AttributeName: 'windowKey', AttributeType: 'S' },
      ],
    });
  });

  test('is provisioned, with write and read capacity under auto scaling at 70 % between 5 and 40,000', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 5 },
    });
    for (const dimension of ['dynamodb:table:WriteCapacityUnits', 'dynamodb:table:ReadCapacityUnits']) {
      template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
        ScalableDimension: dimension,
        MinCapacity: 5,
        MaxCapacity: 40_000,
      });
    }
    const policies = template.findResources('AWS::ApplicationAutoScaling::ScalingPolicy');
    const targets = Object.values(policies).map((p) => p.Properties.TargetTrackingScalingPolicyConfiguration);
    expect(
      targets.map((t) => [t.PredefinedMetricSpecification.PredefinedMetricType, t.TargetValue]).sort(),
    ).toEqual([
      // The table's, then the window index's.
      ['DynamoDBReadCapacityUtilization', 70],
      ['DynamoDBReadCapacityUtilization', 70],
      ['DynamoDBWriteCapacityUtilization', 70],
      ['DynamoDBWriteCapacityUtilization', 70],
    ]);
  });

  test('takes its capacity range and target from the config', () => {
    const { template: custom } = synthSluice({
      aggregatesTable: {
        writeCapacity: { min: 50, max: 2_000 },
        readCapacity: { min: 10, max: 500 },
        targetUtilization: 0.8,
      },
    });

    custom.hasResourceProperties('AWS::DynamoDB::Table', {
      ProvisionedThroughput: { ReadCapacityUnits: 10, WriteCapacityUnits: 50 },
    });
    custom.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      ScalableDimension: 'dynamodb:table:WriteCapacityUnits',
      MinCapacity: 50,
      MaxCapacity: 2_000,
    });
    custom.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({ TargetValue: 80 }),
    });
  });

  test('bills per request, with nothing to scale, when the config says on-demand', () => {
    const { template: onDemand } = synthSluice({ aggregatesTable: { billingMode: 'on-demand' } });

    onDemand.hasResourceProperties('AWS::DynamoDB::Table', { BillingMode: 'PAY_PER_REQUEST' });
    onDemand.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 0);
  });

  test('expires items through the expiresAt attribute', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
  });

  test('has point-in-time recovery', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  test('is encrypted with KMS (the AWS-managed DynamoDB key)', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      SSESpecification: { SSEEnabled: true },
    });
  });

  test('is retained when removed from the stack', () => {
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });
});

describe('AggregatesTable construct', () => {
  test('uses a customer-managed key when given one', () => {
    const stack = newStack();
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });

    new AggregatesTable(stack, 'Aggregates', { encryptionKey: key });

    Template.fromStack(stack).hasResourceProperties('AWS::DynamoDB::Table', {
      SSESpecification: {
        SSEEnabled: true,
        SSEType: 'KMS',
        KMSMasterKeyId: { 'Fn::GetAtt': [logicalId(key), 'Arn'] },
      },
    });
  });
});
