import { CfnParameter, Duration, Token } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { toSpeedConfig, DEFAULT_CONFIG } from '../../contract/config';
import { StreamProcessor, type StreamProcessorProps } from '../../lib/stream-processor';
import { logicalId, newStack, synthSluice } from './synth';

// Every processor setting differs from its default, from the other processor's and from the
// others, so a swapped or dropped mapping fails (retryAttempts 7 vs parallelizationFactor 3 in particular).
const processor = {
  batchSize: 250,
  maxBatchingWindow: '4s',
  parallelizationFactor: 3,
  retryAttempts: 7,
  maxRecordAge: '2h',
  memorySize: 1536,
  timeout: '45s',
};
const alertProcessor = {
  enabled: true,
  batchSize: 120,
  maxBatchingWindow: '1s',
  parallelizationFactor: 2,
  retryAttempts: 9,
  maxRecordAge: '3h',
  memorySize: 384,
  timeout: '25s',
};

describe('stream processors in the Sluice stack', () => {
  const { stack, config, template } = synthSluice({ processor, alertProcessor, logRetentionDays: 14 });
  const aggregate = stack.processor;
  const alert = stack.alertProcessor!;
  const streamId = logicalId(stack.ingest.stream);
  const tableId = logicalId(stack.aggregates.table);
  const topicId = logicalId(stack.alerts.topic);
  const bucketId = logicalId(stack.lake.bucket);

  function functionEnvironment(processor: StreamProcessor): Record<string, unknown> {
    const fn = template.findResources('AWS::Lambda::Function')[logicalId(processor.function)];
    return fn.Properties.Environment.Variables as Record<string, unknown>;
  }

  function policyStatements(
    processor: StreamProcessor,
  ): Array<{ Action: string | string[]; Resource: unknown; Effect: string; Condition?: unknown }> {
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: logicalId(processor.function.role!) }] },
    });
    return Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement);
  }

  function mappingOf(processor: StreamProcessor): Record<string, unknown> {
    const mappings = Object.values(
      template.findResources('AWS::Lambda::EventSourceMapping', {
        Properties: { FunctionName: { Ref: logicalId(processor.function) } },
      }),
    );
    expect(mappings).toHaveLength(1);
    return mappings[0].Properties as Record<string, unknown>;
  }

  const actionsOf = (statement: { Action: string | string[] }): string[] =>
    Array.isArray(statement.Action) ? statement.Action : [statement.Action];

  test('runs two event source mappings on the ingest stream, one per processor', () => {
    expect(Object.keys(template.findResources('AWS::Lambda::EventSourceMapping'))).toHaveLength(2);
    for (const p of [aggregate, alert]) {
      expect(mappingOf(p)).toMatchObject({
        EventSourceArn: { 'Fn::GetAtt': [streamId, 'Arn'] },
        StartingPosition: 'TRIM_HORIZON',
      });
    }
  });

  test("the aggregate processor's mapping takes every setting from processor, unswapped", () => {
    expect(mappingOf(aggregate)).toMatchObject({
      BatchSize: 250,
      MaximumBatchingWindowInSeconds: 4,
      ParallelizationFactor: 3,
      MaximumRetryAttempts: 7,
      MaximumRecordAgeInSeconds: 7200,
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [logicalId(aggregate.deadLetterQueue), 'Arn'] } },
      },
    });
  });

  test("the alert processor's mapping takes every setting from alertProcessor, unswapped", () => {
    expect(mappingOf(alert)).toMatchObject({
      BatchSize: 120,
      MaximumBatchingWindowInSeconds: 1,
      ParallelizationFactor: 2,
      MaximumRetryAttempts: 9,
      MaximumRecordAgeInSeconds: 10_800,
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [logicalId(alert.deadLetterQueue), 'Arn'] } },
      },
    });
  });

  test('each processor has its own dead-letter queue and log group', () => {
    expect(logicalId(alert.deadLetterQueue)).not.toBe(logicalId(aggregate.deadLetterQueue));
    expect(logicalId(alert.logGroup)).not.toBe(logicalId(aggregate.logGroup));
    for (const p of [aggregate, alert]) {
      const fn = template.findResources('AWS::Lambda::Function')[logicalId(p.function)];
      expect(fn.Properties.LoggingConfig).toEqual({ LogGroup: { Ref: logicalId(p.logGroup) } });
      const logGroup = template.findResources('AWS::Logs::LogGroup')[logicalId(p.logGroup)];
      expect(logGroup.Properties.RetentionInDays).toBe(14);
    }
  });

  test('keeps the aggregate processor at its original construct id (no replaced resources)', () => {
    expect(aggregate.node.path).toBe(`${stack.stackName}/StreamProcessor`);
    expect(alert.node.path).toBe(`${stack.stackName}/AlertProcessor`);
  });

  test('runs on arm64 with the newest Node.js runtime, memory and timeout from each section', () => {
    const functions = template.findResources('AWS::Lambda::Function');
    expect(functions[logicalId(aggregate.function)].Properties).toMatchObject({
      Architectures: ['arm64'],
      Runtime: 'nodejs24.x',
      Handler: 'index.handler',
      MemorySize: 1536,
      Timeout: 45,
    });
    expect(functions[logicalId(alert.function)].Properties).toMatchObject({
      Architectures: ['arm64'],
      Runtime: 'nodejs24.x',
      MemorySize: 384,
      Timeout: 25,
    });
  });

  test('tells each function its role, and publishes their metrics under separate services', () => {
    expect(functionEnvironment(aggregate)).toMatchObject({
      SLUICE_PROCESSOR_ROLE: 'aggregates',
      POWERTOOLS_SERVICE_NAME: 'stream-processor',
    });
    expect(functionEnvironment(alert)).toMatchObject({
      SLUICE_PROCESSOR_ROLE: 'alerts',
      POWERTOOLS_SERVICE_NAME: 'alert-processor',
    });
  });

  test('points the aggregate processor at the table, alerts topic and lake through environment variables', () => {
    expect(functionEnvironment(aggregate)).toMatchObject({
      TABLE_NAME: { Ref: tableId },
      ALERTS_TOPIC_ARN: { Ref: topicId },
      LAKE_BUCKET: { Ref: bucketId },
      POWERTOOLS_METRICS_NAMESPACE: 'Sluice',
      SLUICE_STAGE: config.stage,
    });
  });

  test('gives the alert processor no lake bucket', () => {
    expect(functionEnvironment(alert)).toMatchObject({
      TABLE_NAME: { Ref: tableId },
      ALERTS_TOPIC_ARN: { Ref: topicId },
    });
    expect(functionEnvironment(alert)).not.toHaveProperty('LAKE_BUCKET');
  });

  test('maps stack traces to the TypeScript sources', () => {
    expect(functionEnvironment(aggregate).NODE_OPTIONS).toBe('--enable-source-maps');
  });

  test('hands the speed config to the function as SLUICE_SPEED_CONFIG JSON', () => {
    const speedConfig = JSON.parse(functionEnvironment(aggregate).SLUICE_SPEED_CONFIG as string);

    expect(speedConfig).toEqual(toSpeedConfig(config));
    expect(speedConfig.windows).toContainEqual({ name: '5m', sizeMs: 300_000, hopMs: 60_000 });
  });

  test("keeps exactly-once marks per lane of each mapping: each function gets its own mapping's parallelization factor", () => {
    const factorOf = (p: StreamProcessor) =>
      JSON.parse(functionEnvironment(p).SLUICE_SPEED_CONFIG as string).parallelizationFactor;

    expect(factorOf(aggregate)).toBe(3);
    expect(factorOf(alert)).toBe(2);
  });

  test('keeps failed-batch records in encrypted, TLS-only queues for 14 days', () => {
    for (const p of [aggregate, alert]) {
      const queueId = logicalId(p.deadLetterQueue);
      expect(template.findResources('AWS::SQS::Queue')[queueId].Properties).toMatchObject({
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
    }
  });

  test('the aggregate processor may write to the lake only under quarantine/', () => {
    const s3Statements = policyStatements(aggregate).filter((s) =>
      actionsOf(s).some((a) => a.startsWith('s3:')),
    );

    expect(s3Statements).toHaveLength(1);
    expect(s3Statements[0].Resource).toEqual({
      'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/quarantine/*']],
    });
    expect(actionsOf(s3Statements[0])).not.toContain('s3:GetObject');
    expect(actionsOf(s3Statements[0])).not.toContain('s3:DeleteObject*');
  });

  test('the alert processor has no S3 access at all', () => {
    expect(
      policyStatements(alert)
        .flatMap(actionsOf)
        .filter((a) => a.startsWith('s3:')),
    ).toEqual([]);
  });

  test('both may publish to the alerts topic only', () => {
    for (const p of [aggregate, alert]) {
      const snsStatements = policyStatements(p).filter((s) => actionsOf(s).some((a) => a.startsWith('sns:')));

      expect(snsStatements).toEqual([
        expect.objectContaining({ Action: 'sns:Publish', Resource: { Ref: topicId } }),
      ]);
    }
  });

  test('the aggregate processor may read and write items of the aggregates table only', () => {
    const dynamoStatements = policyStatements(aggregate).filter((s) =>
      actionsOf(s).some((a) => a.startsWith('dynamodb:')),
    );

    expect(dynamoStatements.length).toBeGreaterThan(0);
    for (const statement of dynamoStatements) {
      expect([statement.Resource].flat()).toEqual([{ 'Fn::GetAtt': [tableId, 'Arn'] }]);
    }
    expect(dynamoStatements.flatMap(actionsOf)).toEqual(expect.arrayContaining(['dynamodb:UpdateItem']));
  });

  test('the alert processor may only get and update alert items (partition keys ALERT#...), no scan or delete', () => {
    const dynamoStatements = policyStatements(alert).filter((s) =>
      actionsOf(s).some((a) => a.startsWith('dynamodb:')),
    );

    expect(dynamoStatements).toEqual([
      {
        Effect: 'Allow',
        Action: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem'],
        Resource: { 'Fn::GetAtt': [tableId, 'Arn'] },
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['ALERT#*'] } },
      },
    ]);
  });

  test('has no statement on every resource and no managed policy', () => {
    for (const p of [aggregate, alert]) {
      expect(
        policyStatements(p).filter((s) => s.Resource === '*' || [s.Resource].flat().includes('*')),
      ).toEqual([]);
      const role = template.findResources('AWS::IAM::Role')[logicalId(p.function.role!)];
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });
});

describe('stream processors by alertProcessor setting', () => {
  const functionRoles = (template: Template) =>
    Object.values(template.findResources('AWS::Lambda::Function'))
      .map((f) => f.Properties.Environment?.Variables?.SLUICE_PROCESSOR_ROLE)
      .filter((role) => role !== undefined);

  test('with alertProcessor.enabled false, one processor runs every rule (role all) with the processor settings', () => {
    const { stack, template } = synthSluice({ alertProcessor: { enabled: false } });

    expect(stack.alertProcessor).toBeUndefined();
    expect(functionRoles(template)).toEqual(['all']);
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 10_000,
      MaximumBatchingWindowInSeconds: 45,
    });
  });

  test('without value rules, no alert processor is created even when enabled', () => {
    const { stack, template } = synthSluice({ alertRules: [] });

    expect(stack.alertProcessor).toBeUndefined();
    expect(functionRoles(template)).toEqual(['all']);
  });

  test('by default, the alert processor reads with no batching window and the aggregate processor with 45 s', () => {
    const { stack, template } = synthSluice();
    const mapping = (p: StreamProcessor) =>
      Object.values(
        template.findResources('AWS::Lambda::EventSourceMapping', {
          Properties: { FunctionName: { Ref: logicalId(p.function) } },
        }),
      )[0].Properties;

    expect(mapping(stack.processor)).toMatchObject({ BatchSize: 10_000, MaximumBatchingWindowInSeconds: 45 });
    expect(mapping(stack.alertProcessor!)).toMatchObject({
      BatchSize: 500,
      MaximumBatchingWindowInSeconds: 0,
    });
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

  test("fails if role 'alerts' is given a lake bucket (it quarantines nothing and gets no S3 grant)", () => {
    const { stack, props: p } = props({ role: 'alerts' });

    expect(() => new StreamProcessor(stack, 'Processor', p)).toThrow(
      /lakeBucket must be left out with role 'alerts'/,
    );
  });

  test('fails if the speed config has another parallelization factor than the mapping', () => {
    const { stack, props: p } = props({ parallelizationFactor: 4 });

    expect(() => new StreamProcessor(stack, 'Processor', p)).toThrow(
      /speedConfig.parallelizationFactor must equal the event source's parallelizationFactor \(4\).*\(given 1\)/,
    );
  });

  test("defaults role 'alerts' to the alertProcessor settings", () => {
    const { stack, props: p } = props({ role: 'alerts', lakeBucket: undefined });

    new StreamProcessor(stack, 'Processor', p);

    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 500,
      MaximumBatchingWindowInSeconds: 0,
    });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', { MemorySize: 512 });
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
