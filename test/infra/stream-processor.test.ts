import { CfnParameter, Duration, Token } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { toSpeedConfig, DEFAULT_CONFIG } from '../../contract/config';
import { StreamProcessor, type StreamProcessorProps } from '../../lib/stream-processor';
import { logicalId, newStack, synthSluice } from './synth';

// Every processor setting differs from its default and from the others, so a swapped or dropped
// mapping fails (retryAttempts 7 vs parallelizationFactor 3 in particular).
const processor = {
  batchSize: 250,
  maxBatchingWindow: '4s',
  parallelizationFactor: 3,
  retryAttempts: 7,
  maxRecordAge: '2h',
  memorySize: 512,
  timeout: '45s',
};

describe('stream processor in the Sluice stack', () => {
  const { stack, config, template } = synthSluice({ processor, logRetentionDays: 14 });
  const streamId = logicalId(stack.ingest.stream);
  const queueId = logicalId(stack.processor.deadLetterQueue);
  const tableId = logicalId(stack.aggregates.table);
  const topicId = logicalId(stack.alerts.topic);
  const bucketId = logicalId(stack.lake.bucket);
  const functionId = logicalId(stack.processor.function);

  function functionEnvironment(): Record<string, unknown> {
    const fn = template.findResources('AWS::Lambda::Function')[functionId];
    return fn.Properties.Environment.Variables as Record<string, unknown>;
  }

  function policyStatements(): Array<{ Action: string | string[]; Resource: unknown; Effect: string }> {
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: logicalId(stack.processor.function.role!) }] },
    });
    return Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement);
  }

  const actionsOf = (statement: { Action: string | string[] }): string[] =>
    Array.isArray(statement.Action) ? statement.Action : [statement.Action];

  test('reads the ingest stream from TRIM_HORIZON', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [streamId, 'Arn'] },
      FunctionName: { Ref: functionId },
      StartingPosition: 'TRIM_HORIZON',
    });
  });

  test('reports partial batch failures and bisects failing batches', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
    });
  });

  test('takes retryAttempts and parallelizationFactor from config, unswapped', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      MaximumRetryAttempts: 7,
      ParallelizationFactor: 3,
    });
  });

  test('takes batch size, batching window and maximum record age from config', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 250,
      MaximumBatchingWindowInSeconds: 4,
      MaximumRecordAgeInSeconds: 7200,
    });
  });

  test('sends batches that still fail to the dead-letter queue', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } } },
    });
  });

  test('runs on arm64 with the newest Node.js runtime, memory and timeout from config', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Architectures: ['arm64'],
      Runtime: 'nodejs24.x',
      Handler: 'index.handler',
      MemorySize: 512,
      Timeout: 45,
    });
  });

  test('points the function at the table, alerts topic and lake through environment variables', () => {
    expect(functionEnvironment()).toMatchObject({
      TABLE_NAME: { Ref: tableId },
      ALERTS_TOPIC_ARN: { Ref: topicId },
      LAKE_BUCKET: { Ref: bucketId },
      POWERTOOLS_SERVICE_NAME: 'stream-processor',
      POWERTOOLS_METRICS_NAMESPACE: 'Sluice',
      SLUICE_STAGE: config.stage,
    });
  });

  test('maps stack traces to the TypeScript sources', () => {
    expect(functionEnvironment().NODE_OPTIONS).toBe('--enable-source-maps');
  });

  test('hands the speed config to the function as SLUICE_SPEED_CONFIG JSON', () => {
    const speedConfig = JSON.parse(functionEnvironment().SLUICE_SPEED_CONFIG as string);

    expect(speedConfig).toEqual(toSpeedConfig(config));
    expect(speedConfig.windows).toContainEqual({ name: '5m', sizeMs: 300_000, hopMs: 60_000 });
  });

  test('keeps exactly-once marks per lane of the event source: the function gets its parallelization factor', () => {
    const speedConfig = JSON.parse(functionEnvironment().SLUICE_SPEED_CONFIG as string);
    expect(speedConfig.parallelizationFactor).toBe(3);
  });

  test('logs to its own log group with the configured retention', () => {
    const logGroupId = logicalId(stack.processor.logGroup);
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 14 });
    template.hasResourceProperties('AWS::Lambda::Function', {
      LoggingConfig: { LogGroup: { Ref: logGroupId } },
    });
  });

  test('keeps failed-batch records in an encrypted, TLS-only queue for 14 days', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1_209_600,
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sqs:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  test('may write to the lake only under quarantine/', () => {
    const s3Statements = policyStatements().filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')));

    expect(s3Statements).toHaveLength(1);
    expect(s3Statements[0].Resource).toEqual({
      'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/quarantine/*']],
    });
    expect(actionsOf(s3Statements[0])).not.toContain('s3:GetObject');
    expect(actionsOf(s3Statements[0])).not.toContain('s3:DeleteObject*');
  });

  test('may publish to the alerts topic only', () => {
    const snsStatements = policyStatements().filter((s) => actionsOf(s).some((a) => a.startsWith('sns:')));

    expect(snsStatements).toEqual([
      expect.objectContaining({ Action: 'sns:Publish', Resource: { Ref: topicId } }),
    ]);
  });

  test('may read and write items of the aggregates table only', () => {
    const dynamoStatements = policyStatements().filter((s) =>
      actionsOf(s).some((a) => a.startsWith('dynamodb:')),
    );

    expect(dynamoStatements.length).toBeGreaterThan(0);
    for (const statement of dynamoStatements) {
      expect([statement.Resource].flat()).toEqual([{ 'Fn::GetAtt': [tableId, 'Arn'] }]);
    }
    expect(dynamoStatements.flatMap(actionsOf)).toEqual(expect.arrayContaining(['dynamodb:UpdateItem']));
  });

  test('has no statement on every resource and no managed policy', () => {
    expect(policyStatements().filter((s) => s.Resource === '*' || [s.Resource].flat().includes('*'))).toEqual(
      [],
    );
    const role = template.findResources('AWS::IAM::Role')[logicalId(stack.processor.function.role!)];
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });
});

describe('StreamProcessor props validation', () => {
  function props(overrides: Partial<StreamProcessorProps> = {}): {
    stack: ReturnType<typeof newStack>;
    props: StreamProcessorProps;
  } {
    const stack = newStack();
    return {
      stack,
      props: {
        stream: new kinesis.Stream(stack, 'Stream'),
        table: new dynamodb.Table(stack, 'Table', {
          partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
        }),
        alertsTopic: new sns.Topic(stack, 'Topic'),
        lakeBucket: new s3.Bucket(stack, 'Bucket'),
        speedConfig: toSpeedConfig(DEFAULT_CONFIG),
        stage: 'qa',
        ...overrides,
      },
    };
  }

  test('fails if batchSize is above 10000, naming the value', () => {
    const { stack, props: p } = props({ batchSize: 20_000 });

    expect(() => new StreamProcessor(stack, 'Processor', p)).toThrow(
      /batchSize must be an integer between 1 and 10000 inclusive \(given 20000\)/,
    );
  });

  test('fails if retryAttempts is negative', () => {
    const { stack, props: p } = props({ retryAttempts: -1 });

    expect(() => new StreamProcessor(stack, 'Processor', p)).toThrow(
      /retryAttempts must be an integer between 0 and 10000 inclusive \(given -1\)/,
    );
  });

  test('fails if maxBatchingWindow is not a whole number of seconds', () => {
    const { stack, props: p } = props({ maxBatchingWindow: Duration.millis(1500) });

    expect(() => new StreamProcessor(stack, 'Processor', p)).toThrow(
      /maxBatchingWindow must be a whole number of seconds between 0 and 300 seconds inclusive \(given 1 second 500 millis\)/,
    );
  });

  test('fails if the stage is empty (every metric carries it as a dimension value)', () => {
    const { stack, props: p } = props({ stage: '' });

    expect(() => new StreamProcessor(stack, 'Processor', p)).toThrow(/stage must be 1–1024 characters/);
  });

  test('fails if the speed config does not fit in the Lambda environment', () => {
    const rule = toSpeedConfig(DEFAULT_CONFIG).alertRules[0];
    const alertRules = Array.from({ length: 40 }, (_, i) => ({ ...rule, id: `rule-${i}` }));
    const { stack, props: p } = props({ speedConfig: { ...toSpeedConfig(DEFAULT_CONFIG), alertRules } });

    expect(() => new StreamProcessor(stack, 'Processor', p)).toThrow(
      /speedConfig must serialize to at most 3072 bytes/,
    );
  });

  test('accepts a batchSize only known at deploy time', () => {
    const { stack, props: p } = props();
    const batchSize = Token.asNumber(new CfnParameter(stack, 'BatchSize', { type: 'Number' }).value);

    new StreamProcessor(stack, 'Processor', { ...p, batchSize });

    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: { Ref: 'BatchSize' },
    });
  });
});
