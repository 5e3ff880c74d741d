import { Match } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { OpsTopic } from '../../lib/ops-topic';
import { logicalId, newStack, synthSluice } from './synth';

describe('alerts and ops topics in the Sluice stack', () => {
  const { stack, template } = synthSluice();
  const topics = {
    alerts: { topicId: logicalId(stack.alerts.topic), keyId: logicalId(stack.alerts.encryptionKey) },
    ops: { topicId: logicalId(stack.ops.topic), keyId: logicalId(stack.ops.encryptionKey) },
  };

  function keyPolicyStatements(keyId: string): Array<Record<string, unknown>> {
    return template.findResources('AWS::KMS::Key')[keyId].Properties.KeyPolicy.Statement;
  }

  test('are two topics, each encrypted with its own customer-managed key', () => {
    expect(topics.alerts.keyId).not.toEqual(topics.ops.keyId);
    for (const { topicId, keyId } of Object.values(topics)) {
      expect(template.findResources('AWS::SNS::Topic')[topicId].Properties.KmsMasterKeyId).toEqual({
        'Fn::GetAtt': [keyId, 'Arn'],
      });
    }
  });

  test('rotate their keys', () => {
    for (const { keyId } of Object.values(topics)) {
      expect(template.findResources('AWS::KMS::Key')[keyId].Properties.EnableKeyRotation).toBe(true);
    }
  });

  test('deny publishing and subscribing without TLS', () => {
    for (const { topicId } of Object.values(topics)) {
      template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        Topics: [{ Ref: topicId }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 'sns:Publish',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    }
  });

  test('let CloudWatch alarms of this account publish to the ops topic', () => {
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topics.ops.topicId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: { Ref: topics.ops.topicId },
            Condition: {
              ArnLike: {
                'aws:SourceArn': {
                  'Fn::Join': [
                    '',
                    [
                      'arn:',
                      { Ref: 'AWS::Partition' },
                      ':cloudwatch:',
                      { Ref: 'AWS::Region' },
                      ':',
                      { Ref: 'AWS::AccountId' },
                      ':alarm:*',
                    ],
                  ],
                },
              },
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
            },
          }),
        ]),
      },
    });
  });

  test("let CloudWatch alarms use the ops topic's key", () => {
    expect(keyPolicyStatements(topics.ops.keyId)).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      }),
    );
  });

  test('do not let CloudWatch publish to the alerts topic', () => {
    const principals = keyPolicyStatements(topics.alerts.keyId).map((s) => JSON.stringify(s.Principal));

    expect(principals.join()).not.toContain('cloudwatch.amazonaws.com');
  });
});

describe('OpsTopic construct', () => {
  test('fails if given a key whose policy this stack cannot edit', () => {
    const stack = newStack();
    const imported = kms.Key.fromKeyArn(stack, 'Imported', 'arn:aws:kms:eu-west-1:111122223333:key/abcd');

    expect(() => new OpsTopic(stack, 'Ops', { encryptionKey: imported })).toThrow(
      /cannot let cloudwatch\.amazonaws\.com publish: the policy of key Test\/Imported is not managed by this stack/,
    );
  });
});
