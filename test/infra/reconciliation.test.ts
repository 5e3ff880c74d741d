import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { reconciliationReportKey } from '../../lambdas/adapters/report-store';
import { Reconciliation, type ReconciliationProps } from '../../lib/reconciliation';
import { addReconciliation, FIXTURE_STAGE, type OpsFixture, opsFixture } from './ops-fixtures';
import { logicalId } from './synth';

function build(overrides: Partial<ReconciliationProps> = {}): {
  f: OpsFixture;
  reconciliation: Reconciliation;
} {
  const f = opsFixture();
  const reconciliation = addReconciliation(f, { hourlyWindow: '1h', ...overrides });
  return { f, reconciliation };
}

type Statement = { Action: string | string[]; Resource: unknown };

describe('reconciliation', () => {
  const { f, reconciliation } = build({
    aggregateTtl: Duration.days(3),
    lateness: Duration.hours(6),
    tolerance: 0.001,
    maxDifferences: 5,
  });
  const template = Template.fromStack(f.stack);
  const functionId = logicalId(reconciliation.function);

  function statements(): Statement[] {
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: logicalId(reconciliation.function.role!) }] },
    });
    return Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
  }
  const actions = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);

  test('runs on the newest Node.js runtime on arm64', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Timeout: 300,
    });
  });

  test('gets its table, lake, workgroup, database, window and settings from the environment', () => {
    const fn = template.findResources('AWS::Lambda::Function')[functionId];

    expect(fn.Properties.Environment.Variables).toEqual({
      TABLE_NAME: { Ref: logicalId(f.aggregates.table) },
      LAKE_BUCKET: { Ref: logicalId(f.lake.bucket) },
      ATHENA_WORKGROUP: f.workgroup.workGroupName,
      GLUE_DATABASE: { Ref: logicalId(f.catalog.database) },
      HOURLY_WINDOW: '1h',
      AGGREGATE_TTL_MS: String(3 * 86_400_000),
      LATENESS_MS: String(6 * 3_600_000),
      RECONCILE_TOLERANCE: '0.001',
      RECONCILE_MAX_DIFFERENCES: '5',
      POWERTOOLS_SERVICE_NAME: 'reconciliation',
      POWERTOOLS_METRICS_NAMESPACE: 'Sluice',
      SLUICE_STAGE: FIXTURE_STAGE,
      POWERTOOLS_LOG_LEVEL: 'INFO',
      NODE_OPTIONS: '--enable-source-maps',
    });
  });

  test('its metric methods read its own service in its own stage', () => {
    expect(reconciliation.metricMaxRelativeDifference().dimensions).toEqual({
      service: 'reconciliation',
      stage: FIXTURE_STAGE,
    });
  });

  test('may put the report objects the handler writes', () => {
    const key = reconciliationReportKey('2024-05-01');
    const puts = statements().filter((s) => actions(s).includes('s3:PutObject'));

    expect(JSON.stringify(puts.map((s) => s.Resource))).toContain(
      `/${key.slice(0, key.lastIndexOf('/') + 1)}*`,
    );
  });

  test('keeps its logs for a finite time, in its own log group', () => {
    const logGroup = template.findResources('AWS::Logs::LogGroup')[logicalId(reconciliation.logGroup)];

    expect(logGroup.Properties.RetentionInDays).toBe(30);
    template.hasResourceProperties('AWS::Lambda::Function', {
      LoggingConfig: { LogGroup: { Ref: logicalId(reconciliation.logGroup) } },
    });
  });

  test('runs after every successful run of the batch state machine', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: { status: ['SUCCEEDED'], stateMachineArn: [{ Ref: logicalId(f.batchJob) }] },
      },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [functionId, 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 2 },
        }),
      ],
    });
  });

  test('may only Query the aggregates table, never Scan it', () => {
    const onTable = statements().filter(
      (s) =>
        JSON.stringify(s.Resource) ===
        JSON.stringify({ 'Fn::GetAtt': [logicalId(f.aggregates.table), 'Arn'] }),
    );

    expect(onTable.flatMap(actions)).toEqual(['dynamodb:Query']);
  });

  test('may read query results in the workgroup', () => {
    const athena = statements().filter((s) => actions(s).some((a) => a.startsWith('athena:')));

    expect(athena.flatMap(actions)).toEqual(
      expect.arrayContaining(['athena:StartQueryExecution', 'athena:GetQueryResults']),
    );
    expect(JSON.stringify(athena.map((s) => s.Resource))).toContain(
      `:workgroup/${f.workgroup.workGroupName}`,
    );
  });

  test('may put objects under reports/reconciliation/ only', () => {
    const puts = statements().filter((s) => actions(s).includes('s3:PutObject'));
    const resources = JSON.stringify(puts.map((s) => s.Resource));

    expect(resources).toContain('/reports/reconciliation/*');
    expect(resources).not.toMatch(/"\/\*"|"\/curated\//);
  });

  test('leaves no cdk-nag finding unacknowledged, with a reason per acknowledgement', () => {
    const report = new AwsSolutionsChecks().validateScope(f.stack.node.root);

    const mine = report.violations.filter((v) =>
      v.violatingResources.some((r) => (r.constructPath ?? '').startsWith('Test/Reconciliation')),
    );
    expect(mine).toEqual([]);
  });

  test('metric methods default to the daily maximum', () => {
    const metric = reconciliation.metricItemsDiffering();

    expect([metric.namespace, metric.metricName, metric.statistic, metric.period.toSeconds()]).toEqual([
      'Sluice',
      'ReconciliationItemsDiffering',
      'Maximum',
      86_400,
    ]);
  });
});

describe('reconciliation without an hourly window', () => {
  test('deploys with an empty HOURLY_WINDOW, and its runs report "no hourly window configured"', () => {
    const { f, reconciliation } = build({ hourlyWindow: undefined });
    const template = Template.fromStack(f.stack);

    const fn = template.findResources('AWS::Lambda::Function')[logicalId(reconciliation.function)];
    expect(fn.Properties.Environment.Variables.HOURLY_WINDOW).toBe('');
  });
});

describe('reconciliation validation', () => {
  test('fails for a tolerance of 1, naming the prop and value', () => {
    expect(() => build({ tolerance: 1 })).toThrow(
      'Test/Reconciliation: tolerance must be a number from 0 up to (not including) 1 (given 1)',
    );
  });

  test('fails for a timeout under a minute', () => {
    expect(() => build({ timeout: Duration.seconds(30) })).toThrow(
      /timeout must be a whole number of seconds between 60 and 900/,
    );
  });

  test('fails for a lateness under a minute', () => {
    expect(() => build({ lateness: Duration.seconds(30) })).toThrow(
      /lateness must be a whole number of seconds between 60 and 31536000/,
    );
  });

  test('fails for more than 1000 listed differences', () => {
    expect(() => build({ maxDifferences: 5000 })).toThrow(
      /maxDifferences must be an integer between 0 and 1000/,
    );
  });

  test('fails for a window name with spaces', () => {
    expect(() => build({ hourlyWindow: 'one hour' })).toThrow(/hourlyWindow must be a window name/);
  });
});
