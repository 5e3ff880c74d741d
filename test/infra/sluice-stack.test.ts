import { Match } from 'aws-cdk-lib/assertions';
import { logicalId, synthSluice } from './synth';

describe('Sluice stack', () => {
  test('is named after the stage', () => {
    const { stack } = synthSluice({ stage: 'staging' });

    expect(stack.stackName).toBe('Sluice-staging');
  });

  test('outputs the names a client needs to reach the pipeline', () => {
    const { stack, template } = synthSluice();

    template.hasOutput('StreamName', { Value: { Ref: logicalId(stack.ingest.stream) } });
    template.hasOutput('TableName', { Value: { Ref: logicalId(stack.aggregates.table) } });
    template.hasOutput('AlertsTopicArn', { Value: { Ref: logicalId(stack.alerts.topic) } });
    template.hasOutput('OpsTopicArn', { Value: { Ref: logicalId(stack.ops.topic) } });
    template.hasOutput('LakeBucketName', { Value: { Ref: logicalId(stack.lake.bucket) } });
    template.hasOutput('DeadLetterQueueUrl', { Value: { Ref: logicalId(stack.processor.deadLetterQueue) } });
  });

  test('tags resources with the project and stage', () => {
    const { template } = synthSluice({ stage: 'qa' });

    template.hasResourceProperties('AWS::Lambda::Function', {
      Tags: Match.arrayWith([
        { Key: 'project', Value: 'sluice' },
        { Key: 'sluice:stage', Value: 'qa' },
      ]),
    });
  });

  test('keeps the logical ids of stateful resources stable', () => {
    const { stack } = synthSluice();

    expect(logicalId(stack.lake.bucket)).toMatch(/^DataLakeBucket[0-9A-F]{8}$/);
    expect(logicalId(stack.lake.encryptionKey)).toMatch(/^DataLakeKey[0-9A-F]{8}$/);
    expect(logicalId(stack.aggregates.table)).toMatch(/^AggregatesTable[0-9A-F]{8}$/);
    expect(logicalId(stack.ingest.stream)).toMatch(/^IngestStream[0-9A-F]{8}$/);
  });
});
