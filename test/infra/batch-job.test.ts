import * as fs from 'node:fs';
import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AnalyticsWorkgroup } from '../../lib/analytics-workgroup';
import { BatchJob, type BatchJobProps } from '../../lib/batch-job';
import { LakeCatalog } from '../../lib/catalog';
import { CURATED_TABLES } from '../../contract/lake-tables';
import { batchFixtures, nagFindings } from './batch-fixtures';
import { logicalId } from './synth';

const SQL_DIR = path.join(__dirname, '..', '..', 'sql');

function job(props: Partial<BatchJobProps> = {}) {
  const fixtures = batchFixtures();
  const catalog = new LakeCatalog(fixtures.stack, 'Catalog', {
    bucket: fixtures.lake.bucket,
    databaseName: 'sluice_test',
  });
  const workgroup = new AnalyticsWorkgroup(fixtures.stack, 'Workgroup', {
    bucket: fixtures.lake.bucket,
    database: catalog.database,
    workGroupName: 'sluice-test',
  });
  const batch = new BatchJob(fixtures.stack, 'BatchJob', {
    bucket: fixtures.lake.bucket,
    catalog,
    workgroup,
    opsTopic: fixtures.ops.topic,
    ...props,
  });
  return { ...fixtures, catalog, workgroup, batch, template: Template.fromStack(fixtures.stack) };
}

interface AslState {
  Type: string;
  Next?: string;
  Default?: string;
  Choices?: { Condition: string; Next: string }[];
  Resource?: string;
  Arguments?: Record<string, unknown>;
  Catch?: { ErrorEquals: string[]; Next: string }[];
  Items?: string;
  MaxConcurrency?: number;
  ItemProcessor?: { StartAt: string; States: Record<string, AslState> };
  [key: string]: unknown;
}

interface Asl {
  StartAt: string;
  QueryLanguage: string;
  TimeoutSeconds: number;
  States: Record<string, AslState>;
}

/** The state machine definition, with CloudFormation references written as «...». */
function definition(template: Template): { asl: Asl; text: string } {
  const [machine] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
  const parts = machine.Properties.DefinitionString['Fn::Join'][1] as unknown[];
  const text = parts
    .map((p) => (typeof p === 'string' ? p : `«${JSON.stringify(p).replace(/"/g, "'")}»`))
    .join('');
  return { asl: JSON.parse(text) as Asl, text };
}

function dayStates(asl: Asl): Record<string, AslState> {
  return (asl.States.BuildDays.ItemProcessor as { States: Record<string, AslState> }).States;
}

const pascal = (name: string): string => name.replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase());

/**
 * Splits a `{% $replace(...$replace("<sql>", ...)...) %}` expression into the SQL string literal it
 * starts from and what follows the literal.
 */
function splitSqlExpression(expression: string): { sql: string; after: string } {
  const start = expression.indexOf('"');
  let end = start + 1;
  while (expression[end] !== '"') end += expression[end] === '\\' ? 2 : 1;
  return { sql: JSON.parse(expression.slice(start, end + 1)) as string, after: expression.slice(end + 1) };
}

const embeddedSql = (expression: string): string => splitSqlExpression(expression).sql;

/** Every `{% ... %}` JSONata expression in the definition. */
function jsonataExpressions(value: unknown): string[] {
  if (typeof value === 'string') return /^\{%[\s\S]*%\}$/.test(value) ? [value.slice(2, -2)] : [];
  if (Array.isArray(value)) return value.flatMap(jsonataExpressions);
  if (value && typeof value === 'object') return Object.values(value).flatMap(jsonataExpressions);
  return [];
}

describe('BatchJob', () => {
  const { template, batch, ops, lake } = job();
  const { asl, text } = definition(template);

  test('starts every day at 02:00 UTC by default, building yesterday', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 2 * * ? *)',
      ScheduleExpressionTimezone: 'Etc/UTC',
      Target: Match.objectLike({ Arn: { Ref: logicalId(batch.stateMachine) }, Input: '{}' }),
    });
  });

  test('starts on the configured schedule', () => {
    job({ schedule: 'cron(30 4 * * ? *)' }).template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(30 4 * * ? *)',
    });
  });

  test('fails at synth for a schedule that is not an EventBridge Scheduler expression', () => {
    expect(() => job({ schedule: '0 2 * * *' })).toThrow(
      /schedule must be an EventBridge Scheduler expression .*\(given 0 2 \* \* \*\)/,
    );
  });

  test('is a JSONata state machine that checks its input, resolves the days and builds each', () => {
    expect(asl.QueryLanguage).toBe('JSONata');
    expect(asl.StartAt).toBe('CheckInput');
    expect(asl.States.CheckInput.Choices?.[0].Next).toBe('ResolveDays');
    expect(asl.States.CheckInput.Default).toBe('InvalidInput');
    expect(asl.States.ResolveDays.Next).toBe('BuildDays');
    expect(asl.States.BuildDays).toMatchObject({
      Type: 'Map',
      Items: '{% $states.input.days %}',
      MaxConcurrency: 2,
    });
  });

  test('accepts {}, {day} or a {from, to} backfill of at most maxDaysPerRun days', () => {
    const condition = job({ maxDaysPerRun: 31 }).template;
    const check = definition(condition).asl.States.CheckInput.Choices?.[0].Condition ?? '';

    expect(check).toContain('$exists($in.from) or $exists($in.to)');
    expect(check).toContain('/ 86400000 < 31');
    expect(definition(condition).asl.States.ResolveDays.Output).toEqual({
      days: expect.stringContaining('$states.context.Execution.StartTime'),
    });
  });

  test('builds events, then hourly, then daily statistics for each day', () => {
    const states = dayStates(asl);
    const order: string[] = [];
    let name: string | undefined = (asl.States.BuildDays.ItemProcessor as { StartAt: string }).StartAt;
    while (name) {
      order.push(name);
      const state: AslState = states[name];
      name = state.Type === 'Choice' ? state.Default : state.Next;
    }

    expect(order.filter((n) => n.startsWith('Build'))).toEqual([
      'BuildEvents',
      'BuildSensorStatsHourly',
      'BuildSensorStatsDaily',
    ]);
  });

  test.each(CURATED_TABLES.map((t) => [t.name, pascal(t.name)]))(
    'empties curated/%s/dt=<day>/ before inserting into it',
    (table, name) => {
      const states = dayStates(asl);

      expect(states[`List${name}Partition`]).toMatchObject({
        Resource: expect.stringContaining(':states:::aws-sdk:s3:listObjectsV2'),
        Arguments: { Prefix: `{% 'curated/${table}/dt=' & $day & '/' %}` },
        Next: `${name}PartitionHasObjects`,
      });
      expect(states[`${name}PartitionHasObjects`]).toMatchObject({
        Choices: [{ Condition: '{% $states.input.KeyCount > 0 %}', Next: `Delete${name}Objects` }],
        Default: `Build${name}`,
      });
      expect(states[`Delete${name}Objects`]).toMatchObject({
        Resource: expect.stringContaining(':states:::aws-sdk:s3:deleteObjects'),
        Next: `${name}ObjectsDeleted`,
      });
      expect(states[`${name}ObjectsDeleted`].Default).toBe(`List${name}Partition`);
    },
  );

  test.each(CURATED_TABLES.map((t) => [t.name, t.sqlFile, pascal(t.name)]))(
    'runs INSERT INTO %s with the text of sql/%s, filled in with the day at run time',
    (table, sqlFile, name) => {
      const build = dayStates(asl)[`Build${name}`];
      const query = build.Arguments?.QueryString as string;
      const fileText = fs.readFileSync(path.join(SQL_DIR, sqlFile), 'utf8');

      expect(build.Resource).toMatch(/:states:::athena:startQueryExecution\.sync$/);
      expect(embeddedSql(query)).toBe(
        `INSERT INTO ${table}\n${fileText.replace(/\{\{max_clock_skew_ms\}\}/g, '300000')}`,
      );
      expect(query).toMatch(/^\{% (\$replace\()+"/);
      expect(splitSqlExpression(query).after).toMatch(
        /^, "\{\{day\}\}", \$day\)(, "\{\{next_day\}\}", \$nextDay\))? %\}$/,
      );
    },
  );

  test('holds each SQL file once in the whole template (no second copy)', () => {
    const whole = JSON.stringify(template.toJSON());

    for (const table of CURATED_TABLES) {
      const firstLine = fs.readFileSync(path.join(SQL_DIR, table.sqlFile), 'utf8').split('\n')[0];
      expect(whole.split(JSON.stringify(firstLine).slice(1, -1)).length - 1).toBe(1);
    }
  });

  test('uses the configured clock skew in the events query', () => {
    const states = dayStates(definition(job({ maxClockSkew: Duration.minutes(2) }).template).asl);

    expect(embeddedSql(states.BuildEvents.Arguments?.QueryString as string)).toContain('+ 120000');
  });

  test('runs its queries in the lake database and the workgroup', () => {
    for (const table of CURATED_TABLES) {
      expect(dayStates(asl)[`Build${pascal(table.name)}`].Arguments).toMatchObject({
        WorkGroup: 'sluice-test',
        QueryExecutionContext: { Database: expect.stringContaining('CatalogDatabase') },
      });
    }
  });

  test('reports a failed day to the ops topic, then fails the run', () => {
    expect(asl.States.BuildDays.Catch).toEqual([
      expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: 'NotifyOps' }),
    ]);
    expect(asl.States.NotifyOps).toMatchObject({
      Resource: expect.stringContaining(':states:::sns:publish'),
      Arguments: { TopicArn: `«{'Ref':'${logicalId(ops.topic)}'}»`, Subject: 'Sluice batch job failed' },
      Next: 'Failed',
    });
    expect(asl.States.Failed.Type).toBe('Fail');
  });

  test('names the day in the cause of a failed build', () => {
    expect(dayStates(asl).DayFailed.Cause).toBe(
      "{% 'Building ' & $day & ' failed: ' & $states.input.Cause %}",
    );
    for (const table of CURATED_TABLES) {
      expect(dayStates(asl)[`Build${pascal(table.name)}`].Catch).toEqual([
        { ErrorEquals: ['States.ALL'], Next: 'DayFailed' },
      ]);
    }
  });

  test('uses no bare $ or $$ in JSONata, which Step Functions rejects', () => {
    const bare =
      /(?:\/(?:\\.|[^\\/])*\/[a-zA-Z]*)|(?:"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*')|(\$\$|\$[A-Za-z0-9_$]+(?:\.[A-Za-z0-9_][A-Za-z0-9_$]*)*|\$)/g;
    const references = jsonataExpressions(asl).flatMap((e) =>
      [...e.matchAll(bare)].map((m) => m[1]).filter(Boolean),
    );

    expect(references.length).toBeGreaterThan(10);
    expect(references.filter((r) => r === '$' || r === '$$')).toEqual([]);
  });

  test('stops a run after the timeout and alarms the ops topic', () => {
    expect(asl.TimeoutSeconds).toBe(12 * 3600);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ExecutionsTimedOut',
      Namespace: 'AWS/States',
      Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: logicalId(batch.stateMachine) } }],
      AlarmActions: [{ Ref: logicalId(ops.topic) }],
    });
  });

  test('logs every execution event', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: true }),
    });
  });

  test('may delete objects only under curated/<table>/', () => {
    const policy = Object.values(template.findResources('AWS::IAM::Policy')).find((p) =>
      (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref.startsWith('BatchJobStateMachineRole')),
    );
    const deletes = (
      policy?.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]
    ).filter((s) => ([] as string[]).concat(s.Action).some((a) => a.startsWith('s3:Delete')));

    const resources = JSON.stringify(deletes.map((s) => s.Resource));
    expect(resources).not.toContain('"/raw/');
    expect(resources).not.toContain(`"${logicalId(lake.bucket)}","Arn"]},"/*"`);
    expect(resources).toContain('/curated/events/*');
  });

  test('fails at synth for more concurrent days than 10', () => {
    expect(() => job({ maxConcurrentDays: 11 })).toThrow(
      /maxConcurrentDays must be an integer between 1 and 10 inclusive \(given 11\)/,
    );
  });

  test('fails at synth for a clock skew above one day', () => {
    expect(() => job({ maxClockSkew: Duration.hours(25) })).toThrow(
      /maxClockSkew must be between 0 and 1 day/,
    );
  });

  test('embeds the SQL the definition text holds, not a template of it', () => {
    expect(text).not.toContain('{{max_clock_skew_ms}}');
  });

  test('leaves no unacknowledged cdk-nag finding', () => {
    const fixtures = job();

    expect(nagFindings(fixtures.app, fixtures.batch)).toEqual([]);
  });
});
