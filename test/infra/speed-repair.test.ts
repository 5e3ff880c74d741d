import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { resolveConfig, toSpeedConfig } from '../../contract/config';
import { SpeedRepair, type SpeedRepairProps } from '../../lib/speed-repair';
import { FIXTURE_STAGE, type OpsFixture, opsFixture } from './ops-fixtures';
import { logicalId, synthSluice } from './synth';

function props(f: OpsFixture, overrides: Partial<SpeedRepairProps> = {}): SpeedRepairProps {
  return {
    stream: f.ingest.stream,
    table: f.aggregates.table,
    alertsTopic: f.alerts.topic,
    lakeBucket: f.lake.bucket,
    queues: [{ queue: f.processor.deadLetterQueue, role: 'aggregates' }],
    speedConfig: toSpeedConfig(resolveConfig({})),
    stage: FIXTURE_STAGE,
    ...overrides,
  };
}

function build(overrides: Partial<SpeedRepairProps> = {}): { f: OpsFixture; repair: SpeedRepair } {
  const f = opsFixture();
  return { f, repair: new SpeedRepair(f.stack, 'SpeedRepair', props(f, overrides)) };
}

type Statement = { Action: string | string[]; Resource: unknown };

describe('speed repair', () => {
  const { f, repair } = build({
    schedule: Duration.minutes(7),
    timeout: Duration.minutes(4),
    memorySize: 1536,
  });
  const template = Template.fromStack(f.stack);
  const functionId = logicalId(repair.function);

  function statements(): Statement[] {
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: logicalId(repair.function.role!) }] },
    });
    return Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
  }
  const actions = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);
  const on = (resource: unknown) =>
    statements().filter((s) => JSON.stringify(s.Resource).includes(JSON.stringify(resource)));

  test('runs on its schedule, once per event (no retries of a run)', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(7 minutes)',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [functionId, 'Arn'] },
          RetryPolicy: Match.objectLike({ MaximumRetryAttempts: 0 }),
        }),
      ],
    });
  });

  test('has its timeout and memory', () => {
    const fn = template.findResources('AWS::Lambda::Function')[functionId];

    expect([fn.Properties.Timeout, fn.Properties.MemorySize]).toEqual([240, 1536]);
  });

  test('gets its queues with their roles, the stream, table, topic, bucket and config from the environment', () => {
    const variables =
      template.findResources('AWS::Lambda::Function')[functionId].Properties.Environment.Variables;

    expect(variables).toMatchObject({
      TABLE_NAME: { Ref: logicalId(f.aggregates.table) },
      LAKE_BUCKET: { Ref: logicalId(f.lake.bucket) },
      STREAM_NAME: { Ref: logicalId(f.ingest.stream) },
      STREAM_ARN: { 'Fn::GetAtt': [logicalId(f.ingest.stream), 'Arn'] },
      POWERTOOLS_SERVICE_NAME: 'speed-repair',
      SLUICE_STAGE: FIXTURE_STAGE,
    });
    expect(JSON.stringify(variables.SLUICE_REPAIR_QUEUES)).toContain('\\"role\\":\\"aggregates\\"');
    expect(JSON.stringify(variables.SLUICE_REPAIR_QUEUES)).toContain(logicalId(f.processor.deadLetterQueue));
    expect(JSON.parse(variables.SLUICE_SPEED_CONFIG as string)).toEqual(toSpeedConfig(resolveConfig({})));
  });

  test('may receive, delete and hide messages of its on-failure queue, and send none', () => {
    const queue = on({ 'Fn::GetAtt': [logicalId(f.processor.deadLetterQueue), 'Arn'] }).flatMap(actions);

    expect(queue).toEqual(
      expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility']),
    );
    expect(queue).not.toContain('sqs:SendMessage');
  });

  test('may read the stream, never write to it', () => {
    const stream = on({ 'Fn::GetAtt': [logicalId(f.ingest.stream), 'Arn'] }).flatMap(actions);

    expect(stream).toEqual(expect.arrayContaining(['kinesis:GetRecords', 'kinesis:GetShardIterator']));
    expect(stream.some((a) => a.startsWith('kinesis:Put'))).toBe(false);
  });

  test('may put objects under quarantine/ only', () => {
    const puts = statements().filter((s) => actions(s).includes('s3:PutObject'));
    const resources = JSON.stringify(puts.map((s) => s.Resource));

    expect(resources).toContain('/quarantine/*');
    expect(resources).not.toMatch(/"\/\*"|"\/curated\//);
  });

  test('may get, batch-get and update items of the aggregates table, nothing else there', () => {
    const table = on({ 'Fn::GetAtt': [logicalId(f.aggregates.table), 'Arn'] }).flatMap(actions);

    expect(table.sort()).toEqual(['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem']);
  });

  test('keeps its logs for a finite time', () => {
    const logGroup = template.findResources('AWS::Logs::LogGroup')[logicalId(repair.logGroup)];

    expect(logGroup.Properties.RetentionInDays).toBe(30);
  });

  test('its metrics read its own service in its own stage, summed per hour', () => {
    const metric = repair.metric('RepairedBatches');

    expect([metric.namespace, metric.statistic, metric.period.toSeconds(), metric.dimensions]).toEqual([
      'Sluice',
      'Sum',
      3600,
      { service: 'speed-repair', stage: FIXTURE_STAGE },
    ]);
  });

  test('leaves no cdk-nag finding unacknowledged', () => {
    const report = new AwsSolutionsChecks().validateScope(f.stack.node.root);

    const mine = report.violations.filter((v) =>
      v.violatingResources.some((r) => (r.constructPath ?? '').startsWith('Test/SpeedRepair')),
    );
    expect(mine).toEqual([]);
  });
});

describe('speed repair in the Sluice stack', () => {
  test("reads both processors' on-failure queues, each with its role", () => {
    const { stack, template } = synthSluice({
      alertRules: [
        {
          id: 'hot',
          metric: 'temperature',
          source: 'value',
          aggregate: 'value',
          op: '>',
          threshold: 30,
          cooldown: '5m',
          severity: 'warning',
        },
      ],
    });
    const fn = template.findResources('AWS::Lambda::Function')[logicalId(stack.speedRepair.function)];
    const queues = JSON.stringify(fn.Properties.Environment.Variables.SLUICE_REPAIR_QUEUES);

    expect(queues).toContain(logicalId(stack.processor.deadLetterQueue));
    expect(queues).toContain(logicalId(stack.alertProcessor!.deadLetterQueue));
    expect(queues).toContain('\\"role\\":\\"aggregates\\"');
    expect(queues).toContain('\\"role\\":\\"alerts\\"');
  });

  test("runs on the config's repair.schedule (15 minutes by default)", () => {
    const rateOf = (template: ReturnType<typeof synthSluice>['template']) =>
      Object.values(template.findResources('AWS::Events::Rule'))
        .map((rule) => rule.Properties.ScheduleExpression as string | undefined)
        .filter((expression) => expression?.startsWith('rate('));

    expect(rateOf(synthSluice({}).template)).toContain('rate(15 minutes)');
    expect(rateOf(synthSluice({ repair: { schedule: '1h' } }).template)).toContain('rate(1 hour)');
  });
});

describe('speed repair validation', () => {
  test('fails for a schedule that is not a whole number of minutes', () => {
    expect(() => build({ schedule: Duration.seconds(90) })).toThrow(
      /schedule must be a whole number of minutes between 1 and 1440/,
    );
  });

  test('fails without a queue', () => {
    expect(() => build({ queues: [] })).toThrow(
      /queues must name at least one on-failure queue \(given an empty list\)/,
    );
  });

  test("fails for a role that is none of the processors'", () => {
    const f = opsFixture();
    const queue = new sqs.Queue(f.stack, 'Other');
    expect(
      () =>
        new SpeedRepair(
          f.stack,
          'SpeedRepair',
          props(f, { queues: [{ queue, role: 'everything' as never }] }),
        ),
    ).toThrow(/queues\[\]\.role must be one of all, aggregates, alerts \(given "everything"\)/);
  });
});
